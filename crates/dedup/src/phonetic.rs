//! A phonetic key tuned for Spanish as written in El Salvador: letters that sound the same map
//! to one symbol, so that "Vásquez", "Basquez" and "Vázquez" share a key.
//!
//! Rules: b/v/w → b; z, s, c before e/i and x → s; c (elsewhere), k and qu → k; ch → x;
//! ge/gi and j → j; gue/gui → g; ll and y before a vowel → y, y elsewhere → i; silent h dropped;
//! n before b/p → m; doubled letters collapsed.

/// The phonetic key of one folded token (lower case, no accents).
pub fn key(token: &str) -> String {
    let b = token.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let is_front = |c: u8| c == b'e' || c == b'i' || c == b'y';
    let is_vowel = |c: u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u');
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = at(i + 1);
        let mut skip = 1;
        let sym = match c {
            b'h' => None,
            b'c' if next == b'h' => {
                skip = 2;
                Some(b'x')
            }
            b'c' if is_front(next) => Some(b's'),
            b'c' | b'k' => Some(b'k'),
            b'q' if next == b'u' => {
                skip = 2;
                Some(b'k')
            }
            b'q' => Some(b'k'),
            b'z' | b's' | b'x' => Some(b's'),
            b'v' | b'b' | b'w' => Some(b'b'),
            b'g' if is_front(next) => Some(b'j'),
            b'g' if next == b'u' && is_front(at(i + 2)) => {
                skip = 2;
                Some(b'g')
            }
            b'l' if next == b'l' => {
                skip = 2;
                Some(b'y')
            }
            b'y' if is_vowel(next) => Some(b'y'),
            b'y' => Some(b'i'),
            b'n' if next == b'b' || next == b'v' || next == b'p' => Some(b'm'),
            other => Some(other),
        };
        if let Some(s) = sym {
            if out.last() != Some(&s) {
                out.push(s);
            }
        }
        i += skip;
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::key;

    fn same(a: &str, b: &str) {
        assert_eq!(key(a), key(b), "{a} vs {b}");
    }

    #[test]
    fn spanish_sound_alikes_share_a_key() {
        same("vasquez", "basquez"); // b/v
        same("vasquez", "vazquez"); // s/z
        same("cesar", "sesar"); // c before e
        same("hernandez", "ernandes"); // silent h, z/s
        same("guillermo", "guiyermo"); // gu + i, ll/y
        same("quintanilla", "kintaniya"); // qu/k, ll/y
        same("jimenez", "gimenez"); // g before i
        same("godoy", "godoi"); // final y
        same("arrue", "arue"); // rr
        same("yanira", "llanira");
        same("velasquez", "belasques");
        same("zambrano", "sanbrano");
    }

    #[test]
    fn different_sounds_keep_different_keys() {
        assert_ne!(key("lopez"), key("perez"));
        assert_ne!(key("rivas"), key("rios"));
        assert_ne!(key("carlos"), key("sarlos"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        assert_eq!(key(""), "");
        assert_eq!(key("h"), "");
        let _ = key("q");
        let _ = key("ñandú");
        let _ = key("123");
    }
}
