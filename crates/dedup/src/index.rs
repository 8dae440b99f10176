//! The in-memory index: compact entries with interned name tokens, blocking keys so a query
//! touches few candidates, and the ranked search.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::compare::{self, Matrix, Reason};
use crate::normalize::{self, MAX_GIVEN, MAX_SURNAMES};
use crate::phonetic;
use crate::record::{BirthDate, Dui, Record, RecordError, Sex};

/// Scores at or above this are proposed as the same person ("coincidencia probable").
pub const MATCH_THRESHOLD: f32 = 0.5;
/// Scores at or above this are worth showing for review ("posible coincidencia").
pub const REVIEW_THRESHOLD: f32 = 0.1;

/// Evidence (sum of field points) at which the score is 0.5, and its spread.
const EVIDENCE_MIDPOINT: f32 = 7.5;
const EVIDENCE_SCALE: f32 = 1.5;

const NONE: u32 = u32::MAX;

/// Maps evidence points to a score in (0, 1).
fn score_of(points: f32) -> f32 {
    1.0 / (1.0 + (-(points - EVIDENCE_MIDPOINT) / EVIDENCE_SCALE).exp())
}

/// Strings stored once, referred to by number.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
    /// Phonetic key of each text (name tokens only).
    sounds: Vec<Box<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(s.into());
        self.sounds.push(phonetic::key(s).into());
        self.ids.insert(s.into(), id);
        id
    }

    fn sound(&self, id: u32) -> &str {
        self.sounds.get(id as usize).map_or("", |s| s)
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |s| s)
    }

    fn heap_bytes(&self) -> usize {
        let strings: usize = self.texts.iter().map(|s| s.len()).sum();
        let sounds: usize = self.sounds.iter().map(|s| s.len()).sum();
        2 * strings
            + sounds
            + (self.texts.capacity() + self.sounds.capacity()) * std::mem::size_of::<Box<str>>()
            + self.ids.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
    }
}

/// One person, compactly: 44 bytes plus its id.
#[derive(Clone, Copy)]
struct Entry {
    given: [u32; MAX_GIVEN],
    surnames: [u32; MAX_SURNAMES],
    married: u8,
    sex: u8,
    dob: u32,
    dui: u32,
    district: u32,
    phone: u32,
}

impl Entry {
    fn given_len(&self) -> usize {
        self.given.iter().take_while(|&&t| t != NONE).count()
    }
    fn surnames_len(&self) -> usize {
        self.surnames.iter().take_while(|&&t| t != NONE).count()
    }
    fn married_flags(&self) -> [bool; MAX_SURNAMES] {
        [
            self.married & 1 != 0,
            self.married & 2 != 0,
            self.married & 4 != 0,
        ]
    }
}

/// A block's members: most blocks hold one person.
enum Posting {
    One(u32),
    Many(Vec<u32>),
}

impl Posting {
    fn as_slice(&self) -> &[u32] {
        match self {
            Posting::One(x) => std::slice::from_ref(x),
            Posting::Many(v) => v,
        }
    }
}

/// A record normalized for comparison, not (necessarily) in the index.
struct Probe {
    given: Vec<String>,
    surnames: Vec<String>,
    married: Vec<bool>,
    sex: Sex,
    dob: Option<BirthDate>,
    dui: Option<Dui>,
    district: String,
    phone: Option<u32>,
}

impl Probe {
    fn from_record(r: &Record) -> Result<Probe, RecordError> {
        if r.id.trim().is_empty() {
            return Err(RecordError::MissingId);
        }
        let given = normalize::given_tokens(&r.given_names);
        let sur = normalize::surnames(&r.first_surname, &r.second_surname);
        if given.is_empty() && sur.is_empty() {
            return Err(RecordError::NoName);
        }
        Ok(Probe {
            given,
            married: sur.iter().map(|s| s.married).collect(),
            surnames: sur.into_iter().map(|s| s.text).collect(),
            sex: Sex::parse(&r.sex),
            dob: BirthDate::parse(&r.birth_date)?,
            dui: Dui::parse(&r.dui)?,
            district: normalize::district_key(&r.district),
            phone: normalize::phone_digits(&r.phone),
        })
    }
}

/// The parts of a probe or entry the comparisons need, with tokens as text.
struct View<'a> {
    given: [&'a str; MAX_GIVEN],
    n_given: usize,
    surnames: [&'a str; MAX_SURNAMES],
    married: [bool; MAX_SURNAMES],
    n_surnames: usize,
    sex: Sex,
    dob: Option<BirthDate>,
    dui: Option<Dui>,
    /// Interned district, `NONE - 1` for a district unknown to the index.
    district: Option<u32>,
    phone: Option<u32>,
}

/// One proposed match.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    pub id: String,
    /// In (0, 1); at or above [`MATCH_THRESHOLD`] it is proposed as the same person.
    pub score: f32,
    /// For and against (`SameDui`, `SurnamesSwapped`, …; [`Reason::text`] words them).
    pub reasons: Vec<Reason>,
}

/// A likely duplicate pair within the index (for the supervisor's list).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub score: f32,
    pub reasons: Vec<Reason>,
}

/// Pairs of ids a person marked "no es la misma persona": never proposed again.
#[derive(Debug, Clone, Default)]
pub struct NotSamePerson {
    /// Smaller id → larger ids.
    pairs: FxHashMap<Box<str>, FxHashSet<Box<str>>>,
    len: usize,
}

impl NotSamePerson {
    pub fn new() -> Self {
        Self::default()
    }

    fn order<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
        if a <= b {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Marks `a` and `b` as different people (in either order).
    pub fn insert(&mut self, a: &str, b: &str) {
        let (x, y) = Self::order(a, b);
        if self.pairs.entry(x.into()).or_default().insert(y.into()) {
            self.len += 1;
        }
    }

    pub fn remove(&mut self, a: &str, b: &str) -> bool {
        let (x, y) = Self::order(a, b);
        let removed = self.pairs.get_mut(x).is_some_and(|set| set.remove(y));
        if removed {
            self.len -= 1;
        }
        removed
    }

    pub fn contains(&self, a: &str, b: &str) -> bool {
        let (x, y) = Self::order(a, b);
        self.pairs.get(x).is_some_and(|set| set.contains(y))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<A: AsRef<str>, B: AsRef<str>> FromIterator<(A, B)> for NotSamePerson {
    fn from_iter<I: IntoIterator<Item = (A, B)>>(iter: I) -> Self {
        let mut s = NotSamePerson::new();
        for (a, b) in iter {
            s.insert(a.as_ref(), b.as_ref());
        }
        s
    }
}

/// How to search.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions<'a> {
    /// At most this many candidates, best first.
    pub top: usize,
    /// Leave out candidates scoring below this (0 keeps every candidate found).
    pub min_score: f32,
    /// Pairs marked "not the same person".
    pub not_same: Option<&'a NotSamePerson>,
}

impl Default for SearchOptions<'_> {
    fn default() -> Self {
        SearchOptions {
            top: 10,
            min_score: 0.0,
            not_same: None,
        }
    }
}

/// The duplicate-detection index over every person of the store. Lives in memory only.
#[derive(Default)]
pub struct Index {
    entries: Vec<Entry>,
    /// Id of each slot; `None` for a free slot.
    ids: Vec<Option<Arc<str>>>,
    slots: FxHashMap<Arc<str>, u32>,
    free: Vec<u32>,
    tokens: Interner,
    districts: Interner,
    blocks: FxHashMap<u64, Posting>,
}

fn block_key(tag: u8, a: &str, b: &str, year: u16) -> u64 {
    let mut h = FxHasher::default();
    tag.hash(&mut h);
    a.hash(&mut h);
    b.hash(&mut h);
    year.hash(&mut h);
    h.finish()
}

fn block_key_num(tag: u8, n: u32) -> u64 {
    let mut h = FxHasher::default();
    tag.hash(&mut h);
    n.hash(&mut h);
    h.finish()
}

/// Phonetic keys of a person's name tokens.
struct Sounds<'a> {
    given: [&'a str; MAX_GIVEN],
    n_given: usize,
    surnames: [&'a str; MAX_SURNAMES],
    n_surnames: usize,
}

/// Whether keys are wanted for storing a person or for looking one up: a stored person has
/// one birth year (0 if unknown); a lookup tries the year before and after and "unknown".
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyUse {
    Store,
    Lookup,
}

/// Blocking keys: a query only looks at people sharing at least one key, so common names
/// do not drag in thousands of people.
/// - sound of each of the first two given names with the sound of each surname, and each
///   pair of surnames (either order), within the birth year (±1 on lookup; a person without
///   a date is under year 0, which every lookup also tries);
/// - the sound of the whole name, any birth date (a mistyped year);
/// - each half of the DUI (one mistyped digit leaves the other half);
/// - the full date of birth with the initial of the first given name.
fn block_keys(sounds: &Sounds<'_>, v: &View<'_>, usage: KeyUse, out: &mut Vec<u64>) {
    out.clear();
    let pg = &sounds.given[..sounds.n_given.min(2)];
    let ps = &sounds.surnames[..sounds.n_surnames];
    let year = v.dob.map_or(0, |d| d.year);
    let years: &[u16] = match (usage, year) {
        (KeyUse::Store, y) => &[y],
        (KeyUse::Lookup, 0) => &[0],
        (KeyUse::Lookup, y) => &[y - 1, y, y + 1, 0],
    };
    for &y in years {
        for g in pg {
            for s in ps {
                out.push(block_key(1, g, s, y));
            }
        }
        for (i, a) in ps.iter().enumerate() {
            for b in &ps[i + 1..] {
                let (x, z) = if a <= b { (a, b) } else { (b, a) };
                out.push(block_key(2, x, z, y));
            }
        }
        if ps.is_empty() {
            for g in pg {
                out.push(block_key(3, g, "", y));
            }
        }
    }
    let mut whole: Vec<&str> = pg.iter().chain(ps).copied().collect();
    whole.sort_unstable();
    out.push(block_key(4, &whole.join(" "), "", 0));
    if let Some(dui) = v.dui {
        out.push(block_key_num(5, dui.base() / 10_000));
        out.push(block_key_num(6, dui.base() % 10_000));
    }
    if let (Some(dob), Some(g)) = (v.dob, pg.first()) {
        if !dob.year_only() {
            let initial = u32::from(g.as_bytes().first().copied().unwrap_or(0));
            out.push(block_key_num(7, dob.pack() << 8 | initial));
            if usage == KeyUse::Lookup {
                // The same date a year off, or with day and month swapped.
                for year in [dob.year - 1, dob.year + 1] {
                    let d = BirthDate { year, ..dob };
                    out.push(block_key_num(7, d.pack() << 8 | initial));
                }
                if dob.day <= 12 && dob.day != dob.month {
                    let d = BirthDate {
                        year: dob.year,
                        month: dob.day,
                        day: dob.month,
                    };
                    out.push(block_key_num(7, d.pack() << 8 | initial));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
}

impl Index {
    pub fn new() -> Index {
        Index::default()
    }

    /// Builds the index from every record; fails on the first invalid record with its position.
    pub fn build<'a>(
        records: impl IntoIterator<Item = &'a Record>,
    ) -> Result<Index, (usize, RecordError)> {
        let records = records.into_iter();
        let n = records.size_hint().0;
        let mut index = Index::new();
        index.entries.reserve(n);
        index.ids.reserve(n);
        index.slots.reserve(n);
        for (i, r) in records.enumerate() {
            index.upsert(r).map_err(|e| (i, e))?;
        }
        Ok(index)
    }

    /// Number of persons indexed.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.slots.contains_key(id)
    }

    /// Adds a person or replaces the one with the same id (call on every save).
    pub fn upsert(&mut self, record: &Record) -> Result<(), RecordError> {
        let probe = Probe::from_record(record)?;
        let id = record.id.trim();
        self.remove(id);
        let mut e = Entry {
            given: [NONE; MAX_GIVEN],
            surnames: [NONE; MAX_SURNAMES],
            married: 0,
            sex: probe.sex as u8,
            dob: probe.dob.map_or(0, |d| d.pack()),
            dui: probe.dui.map_or(NONE, |d| d.0),
            district: if probe.district.is_empty() {
                NONE
            } else {
                self.districts.intern(&probe.district)
            },
            phone: probe.phone.unwrap_or(0),
        };
        for (slot, t) in e.given.iter_mut().zip(&probe.given) {
            *slot = self.tokens.intern(t);
        }
        for (i, (slot, t)) in e.surnames.iter_mut().zip(&probe.surnames).enumerate() {
            *slot = self.tokens.intern(t);
            if probe.married[i] {
                e.married |= 1 << i;
            }
        }
        let slot = match self.free.pop() {
            Some(s) => {
                self.entries[s as usize] = e;
                s
            }
            None => {
                self.entries.push(e);
                self.ids.push(None);
                (self.entries.len() - 1) as u32
            }
        };
        let id: Arc<str> = id.into();
        self.ids[slot as usize] = Some(id.clone());
        self.slots.insert(id, slot);
        let mut keys = Vec::with_capacity(12);
        block_keys(
            &self.entry_sounds(&e),
            &self.entry_view(&e),
            KeyUse::Store,
            &mut keys,
        );
        for k in keys {
            match self.blocks.get_mut(&k) {
                None => {
                    self.blocks.insert(k, Posting::One(slot));
                }
                Some(p @ Posting::One(_)) => {
                    let first = p.as_slice()[0];
                    *p = Posting::Many(vec![first, slot]);
                }
                Some(Posting::Many(v)) => v.push(slot),
            }
        }
        Ok(())
    }

    /// Removes a person (deleted or merged away). Returns whether it was indexed.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slots.remove(id) else {
            return false;
        };
        let e = self.entries[slot as usize];
        let mut keys = Vec::with_capacity(12);
        block_keys(
            &self.entry_sounds(&e),
            &self.entry_view(&e),
            KeyUse::Store,
            &mut keys,
        );
        for k in keys {
            let empty = match self.blocks.get_mut(&k) {
                Some(Posting::One(s)) => *s == slot,
                Some(Posting::Many(v)) => {
                    v.retain(|&s| s != slot);
                    if v.len() == 1 {
                        let only = v[0];
                        self.blocks.insert(k, Posting::One(only));
                    }
                    false
                }
                None => false,
            };
            if empty {
                self.blocks.remove(&k);
            }
        }
        self.ids[slot as usize] = None;
        self.free.push(slot);
        true
    }

    fn entry_sounds(&self, e: &Entry) -> Sounds<'_> {
        let mut sounds = Sounds {
            given: [""; MAX_GIVEN],
            n_given: e.given_len(),
            surnames: [""; MAX_SURNAMES],
            n_surnames: e.surnames_len(),
        };
        for (g, &t) in sounds.given.iter_mut().zip(&e.given[..sounds.n_given]) {
            *g = self.tokens.sound(t);
        }
        for (s, &t) in sounds
            .surnames
            .iter_mut()
            .zip(&e.surnames[..sounds.n_surnames])
        {
            *s = self.tokens.sound(t);
        }
        sounds
    }

    fn entry_view(&self, e: &Entry) -> View<'_> {
        let mut given = [""; MAX_GIVEN];
        let n_given = e.given_len();
        for (g, &t) in given.iter_mut().zip(&e.given[..n_given]) {
            *g = self.tokens.text(t);
        }
        let mut surnames = [""; MAX_SURNAMES];
        let n_surnames = e.surnames_len();
        for (s, &t) in surnames.iter_mut().zip(&e.surnames[..n_surnames]) {
            *s = self.tokens.text(t);
        }
        View {
            given,
            n_given,
            surnames,
            married: e.married_flags(),
            n_surnames,
            sex: match e.sex {
                1 => Sex::Female,
                2 => Sex::Male,
                _ => Sex::Unknown,
            },
            dob: BirthDate::unpack(e.dob),
            dui: (e.dui != NONE).then_some(Dui(e.dui)),
            district: (e.district != NONE).then_some(e.district),
            phone: (e.phone != 0).then_some(e.phone),
        }
    }

    fn probe_view<'a>(&self, p: &'a Probe) -> View<'a> {
        let mut given = [""; MAX_GIVEN];
        let n_given = p.given.len().min(MAX_GIVEN);
        for (g, t) in given.iter_mut().zip(&p.given) {
            *g = t;
        }
        let mut surnames = [""; MAX_SURNAMES];
        let mut married = [false; MAX_SURNAMES];
        let n_surnames = p.surnames.len().min(MAX_SURNAMES);
        for i in 0..n_surnames {
            surnames[i] = &p.surnames[i];
            married[i] = p.married[i];
        }
        View {
            given,
            n_given,
            surnames,
            married,
            n_surnames,
            sex: p.sex,
            dob: p.dob,
            dui: p.dui,
            district: if p.district.is_empty() {
                None
            } else {
                Some(self.districts.get(&p.district).unwrap_or(NONE - 1))
            },
            phone: p.phone,
        }
    }

    /// The best `opts.top` persons that may be the same as `record`, best first. The record's
    /// own id and pairs in `opts.not_same` are left out.
    pub fn search(
        &self,
        record: &Record,
        opts: &SearchOptions<'_>,
    ) -> Result<Vec<Candidate>, RecordError> {
        let probe = Probe::from_record(record)?;
        let view = self.probe_view(&probe);
        let given: Vec<String> = view.given[..view.n_given]
            .iter()
            .map(|t| phonetic::key(t))
            .collect();
        let surnames: Vec<String> = view.surnames[..view.n_surnames]
            .iter()
            .map(|t| phonetic::key(t))
            .collect();
        let mut sounds = Sounds {
            given: [""; MAX_GIVEN],
            n_given: given.len(),
            surnames: [""; MAX_SURNAMES],
            n_surnames: surnames.len(),
        };
        for (slot, k) in sounds.given.iter_mut().zip(&given) {
            *slot = k;
        }
        for (slot, k) in sounds.surnames.iter_mut().zip(&surnames) {
            *slot = k;
        }
        Ok(self.search_view(&sounds, &view, record.id.trim(), opts))
    }

    /// Likely duplicates of a person already in the index (`None` if not indexed).
    pub fn duplicates_of(&self, id: &str, opts: &SearchOptions<'_>) -> Option<Vec<Candidate>> {
        let slot = *self.slots.get(id)?;
        let e = self.entries[slot as usize];
        let view = self.entry_view(&e);
        Some(self.search_view(&self.entry_sounds(&e), &view, id, opts))
    }

    /// Every pair of indexed persons scoring at least `opts.min_score` (at most `opts.top`
    /// partners per person), best first, pairs in `opts.not_same` left out.
    pub fn likely_pairs(&self, opts: &SearchOptions<'_>) -> Vec<Pair> {
        let mut seen: FxHashSet<(Arc<str>, Arc<str>)> = FxHashSet::default();
        let mut pairs = Vec::new();
        for (slot, id) in self.ids.iter().enumerate() {
            let Some(id) = id else { continue };
            let e = &self.entries[slot];
            for c in self.search_view(&self.entry_sounds(e), &self.entry_view(e), id, opts) {
                let other: Arc<str> = c.id.as_str().into();
                let (a, b) = if *id <= other {
                    (id.clone(), other)
                } else {
                    (other, id.clone())
                };
                if seen.insert((a.clone(), b.clone())) {
                    pairs.push(Pair {
                        a: a.to_string(),
                        b: b.to_string(),
                        score: c.score,
                        reasons: c.reasons,
                    });
                }
            }
        }
        pairs.sort_by(|x, y| {
            y.score
                .total_cmp(&x.score)
                .then_with(|| x.a.cmp(&y.a))
                .then_with(|| x.b.cmp(&y.b))
        });
        pairs
    }

    fn search_view(
        &self,
        sounds: &Sounds<'_>,
        q: &View<'_>,
        own_id: &str,
        opts: &SearchOptions<'_>,
    ) -> Vec<Candidate> {
        if opts.top == 0 {
            return Vec::new();
        }
        let mut keys = Vec::with_capacity(32);
        block_keys(sounds, q, KeyUse::Lookup, &mut keys);
        let mut cands: Vec<u32> = Vec::new();
        for k in &keys {
            if let Some(p) = self.blocks.get(k) {
                cands.extend_from_slice(p.as_slice());
            }
        }
        cands.sort_unstable();
        cands.dedup();

        let mut memo = Memo::new(q);
        let mut reasons = Vec::new();
        let mut scored: Vec<(f32, u32)> = Vec::with_capacity(cands.len());
        for &slot in &cands {
            let Some(id) = &self.ids[slot as usize] else {
                continue;
            };
            if &**id == own_id {
                continue;
            }
            reasons.clear();
            let points = self.points(q, &self.entries[slot as usize], &mut memo, &mut reasons);
            let score = score_of(points);
            if score >= opts.min_score {
                scored.push((score, slot));
            }
        }
        let by_score = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let mut out = Vec::with_capacity(opts.top.min(scored.len()));
        // Take the best, skipping pairs marked "not the same person".
        let mut limit = opts.top;
        loop {
            if scored.len() > limit {
                scored.select_nth_unstable_by(limit, by_score);
                scored[..limit].sort_unstable_by(by_score);
            } else {
                scored.sort_unstable_by(by_score);
            }
            out.clear();
            for &(score, slot) in scored.iter().take(limit) {
                let Some(id) = &self.ids[slot as usize] else {
                    continue;
                };
                if opts.not_same.is_some_and(|ns| ns.contains(own_id, id)) {
                    continue;
                }
                out.push((score, slot));
                if out.len() == opts.top {
                    break;
                }
            }
            if out.len() == opts.top || limit >= scored.len() {
                break;
            }
            limit = (limit * 2).min(scored.len());
        }
        out.into_iter()
            .filter_map(|(score, slot)| {
                let id = self.ids[slot as usize].as_ref()?;
                let mut reasons = Vec::new();
                self.points(q, &self.entries[slot as usize], &mut memo, &mut reasons);
                // Reasons for the match first, then against.
                reasons.sort_by_key(|r| r.is_against());
                Some(Candidate {
                    id: id.to_string(),
                    score,
                    reasons,
                })
            })
            .collect()
    }

    #[allow(clippy::needless_range_loop)]
    fn points(&self, q: &View<'_>, e: &Entry, memo: &mut Memo, reasons: &mut Vec<Reason>) -> f32 {
        let mut total = 0.0;
        // Given names.
        let m = e.given_len();
        let mut sims: Matrix = [[0.0; 3]; 3];
        for i in 0..q.n_given {
            for j in 0..m {
                sims[i][j] = memo.sim(i, q.given[i], e.given[j], &self.tokens);
            }
        }
        total += compare::given_names(q.n_given, m, &sims, reasons);
        // Surnames.
        let m = e.surnames_len();
        for i in 0..q.n_surnames {
            for j in 0..m {
                sims[i][j] = memo.sim(MAX_GIVEN + i, q.surnames[i], e.surnames[j], &self.tokens);
            }
        }
        let cm = e.married_flags();
        total += compare::surnames(&q.married[..q.n_surnames], &cm[..m], &sims, reasons);
        total += compare::birth_dates(q.dob, BirthDate::unpack(e.dob), reasons);
        total += compare::duis(q.dui, (e.dui != NONE).then_some(Dui(e.dui)), reasons);
        let sex = match e.sex {
            1 => Sex::Female,
            2 => Sex::Male,
            _ => Sex::Unknown,
        };
        total += compare::sexes(q.sex, sex, reasons);
        total += compare::districts(
            q.district,
            (e.district != NONE).then_some(e.district),
            reasons,
        );
        total += compare::phones(q.phone, (e.phone != 0).then_some(e.phone), reasons);
        total
    }

    /// Approximate heap memory held by the index, in bytes.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let postings: usize = self
            .blocks
            .values()
            .map(|p| match p {
                Posting::One(_) => 0,
                Posting::Many(v) => v.capacity() * 4,
            })
            .sum();
        let ids: usize = self.ids.iter().flatten().map(|s| s.len() + 16).sum();
        self.entries.capacity() * size_of::<Entry>()
            + self.ids.capacity() * size_of::<Option<Arc<str>>>()
            + ids
            + self.slots.capacity() * (size_of::<(Arc<str>, u32)>() + 1)
            + self.free.capacity() * 4
            + self.tokens.heap_bytes()
            + self.districts.heap_bytes()
            + self.blocks.capacity() * (size_of::<(u64, Posting)>() + 1)
            + postings
    }
}

/// Token similarities computed during one query, per query token and candidate token.
struct Memo {
    maps: Vec<FxHashMap<u32, f32>>,
}

impl Memo {
    fn new(_q: &View<'_>) -> Memo {
        Memo {
            maps: (0..MAX_GIVEN + MAX_SURNAMES)
                .map(|_| FxHashMap::default())
                .collect(),
        }
    }

    fn sim(&mut self, qi: usize, q: &str, c: u32, tokens: &Interner) -> f32 {
        *self.maps[qi]
            .entry(c)
            .or_insert_with(|| compare::token_similarity(q, tokens.text(c)))
    }
}
