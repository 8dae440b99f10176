//! Reading an office's spreadsheet into a grid of cells: XLSX (and XLS/ODS) through calamine,
//! CSV through the csv crate (`,`, `;` or tab, UTF-8 with or without BOM, or Windows-1252 as
//! Excel saves it in Spanish), and the cell values the import understands: Excel serial dates
//! and text dates (`15/07/2026`, `2026-07-15`, `15 de julio de 2026`).

use std::io::Cursor;

use chrono::{Datelike, Duration, NaiveDate};

use crate::{ApiError, Result};

/// One cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Empty,
    Text(String),
    Number(f64),
    /// A cell Excel formatted as a date (its serial, already a day).
    Date(NaiveDate),
}

impl Raw {
    pub fn is_empty(&self) -> bool {
        match self {
            Raw::Empty => true,
            Raw::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as a person reads it (a whole number without decimals, a date as dd/mm/yyyy).
    pub fn shown(&self) -> String {
        match self {
            Raw::Empty => String::new(),
            Raw::Text(s) => s.trim().to_string(),
            Raw::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Raw::Number(n) => n.to_string(),
            Raw::Date(d) => d.format("%d/%m/%Y").to_string(),
        }
    }
}

/// The rows of the first sheet, each with its 1-based row number in the file.
pub(crate) type Grid = Vec<(u32, Vec<Raw>)>;

/// What kind of file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sheet,
    Csv,
}

pub(crate) fn kind_of(file_name: &str) -> Result<Kind> {
    let lower = file_name.to_lowercase();
    if lower.ends_with(".csv") || lower.ends_with(".txt") {
        Ok(Kind::Csv)
    } else if [".xlsx", ".xlsm", ".xls", ".ods"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        Ok(Kind::Sheet)
    } else {
        Err(ApiError::ImportUnreadable(format!(
            "«{file_name}» no es una planilla: use un archivo .xlsx o .csv"
        )))
    }
}

pub(crate) fn read(file_name: &str, bytes: &[u8]) -> Result<Grid> {
    match kind_of(file_name)? {
        Kind::Sheet => read_sheet(bytes),
        Kind::Csv => read_csv(bytes),
    }
}

fn read_sheet(bytes: &[u8]) -> Result<Grid> {
    use calamine::{open_workbook_auto_from_rs, Data, Reader};
    let unreadable = |e: String| {
        ApiError::ImportUnreadable(format!("no se pudo leer la planilla (¿está dañada?): {e}"))
    };
    let mut book =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| unreadable(e.to_string()))?;
    let range = match book.worksheet_range_at(0) {
        Some(r) => r.map_err(|e| unreadable(e.to_string()))?,
        None => return Err(unreadable("no tiene hojas".into())),
    };
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut grid = Vec::new();
    for (i, row) in range.rows().enumerate() {
        // Columns before the first used one are empty: keep positions as the file shows them.
        let mut cells = vec![Raw::Empty; first_col as usize];
        cells.extend(row.iter().map(|c| match c {
            Data::Empty | Data::Error(_) => Raw::Empty,
            Data::String(s) => Raw::Text(s.clone()),
            Data::Int(n) => Raw::Number(*n as f64),
            Data::Float(f) => Raw::Number(*f),
            Data::Bool(b) => Raw::Text(if *b { "Sí" } else { "No" }.into()),
            Data::DateTime(d) if d.is_datetime() => {
                serial_date(d.as_f64()).map_or(Raw::Number(d.as_f64()), Raw::Date)
            }
            Data::DateTime(d) => Raw::Number(d.as_f64()),
            Data::DateTimeIso(s) | Data::DurationIso(s) => Raw::Text(s.clone()),
        }));
        let number = first_row.saturating_add(1).saturating_add(i as u32);
        grid.push((number, cells));
    }
    Ok(grid)
}

/// UTF-8 (a BOM is dropped); anything else is read as Windows-1252, which is what Excel writes
/// when it saves "CSV" on a Spanish Windows.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// `;` (Spanish Excel), tab or `,`: whichever the first lines hold most of.
fn delimiter(text: &str) -> u8 {
    let head: String = text.lines().take(10).collect::<Vec<_>>().join("\n");
    let count = |c: char| head.chars().filter(|x| *x == c).count();
    let (semi, tab, comma) = (count(';'), count('\t'), count(','));
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma {
        b'\t'
    } else {
        b','
    }
}

fn read_csv(bytes: &[u8]) -> Result<Grid> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            ApiError::ImportUnreadable(format!("el CSV no se puede leer en la fila {}: {e}", i + 1))
        })?;
        let number = record
            .position()
            .map_or(i as u64 + 1, |p| p.line())
            .try_into()
            .unwrap_or(u32::MAX);
        let cells = record
            .iter()
            .map(|s| {
                if s.trim().is_empty() {
                    Raw::Empty
                } else {
                    Raw::Text(s.to_string())
                }
            })
            .collect();
        grid.push((number, cells));
    }
    Ok(grid)
}

/// An Excel serial (1900 date system) as a day: 45853 is 2025-07-15.
pub(crate) fn serial_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    epoch.checked_add_signed(Duration::days(serial.floor() as i64))
}

const MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

fn month_of(word: &str) -> Option<u32> {
    let w = reintegra_core::text::fold(word);
    if w == "setiembre" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| *m == w || (w.len() >= 3 && m.starts_with(&w)))
        .map(|i| i as u32 + 1)
}

/// Why a date cell was not understood, in Spanish.
pub(crate) fn date_of(raw: &Raw) -> Result<NaiveDate, String> {
    match raw {
        Raw::Date(d) => Ok(*d),
        Raw::Number(n) => {
            serial_date(*n).ok_or_else(|| format!("«{}» no es una fecha", raw.shown()))
        }
        Raw::Text(s) => text_date(s.trim()),
        Raw::Empty => Err("falta la fecha".into()),
    }
}

fn text_date(s: &str) -> Result<NaiveDate, String> {
    let not_understood = || format!("no se entiende la fecha «{s}»: escríbala como dd/mm/aaaa");
    let impossible = || format!("la fecha «{s}» no existe en el calendario");
    // A serial typed or exported as text.
    if s.len() == 5 && s.chars().all(|c| c.is_ascii_digit()) {
        let n: f64 = s.parse().map_err(|_| not_understood())?;
        return serial_date(n).ok_or_else(not_understood);
    }
    // An ISO date-time (calamine's DateTimeIso): the day is enough.
    let day_part = s.split(['T', ' ']).next().unwrap_or(s);
    let parts: Vec<&str> = day_part
        .split(['/', '-', '.'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() == 3 && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) {
        let n = |p: &str| p.parse::<i32>().map_err(|_| not_understood());
        let (y, m, d) = if parts[0].len() == 4 {
            (n(parts[0])?, n(parts[1])?, n(parts[2])?)
        } else {
            let y = n(parts[2])?;
            let y = match parts[2].len() {
                4 => y,
                1 | 2 => {
                    if y <= 30 {
                        2000 + y
                    } else {
                        1900 + y
                    }
                }
                _ => return Err(not_understood()),
            };
            (y, n(parts[1])?, n(parts[0])?)
        };
        let (Ok(m), Ok(d)) = (u32::try_from(m), u32::try_from(d)) else {
            return Err(impossible());
        };
        return NaiveDate::from_ymd_opt(y, m, d).ok_or_else(impossible);
    }
    // "15 de julio de 2026", "15 julio 2026", "15-jul-2026".
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == '-' || c == '/' || c == ',')
        .filter(|w| {
            !w.is_empty() && !w.eq_ignore_ascii_case("de") && !w.eq_ignore_ascii_case("del")
        })
        .collect();
    if let [d, m, y] = words.as_slice() {
        if let (Ok(d), Some(m), Ok(y)) = (d.parse::<u32>(), month_of(m), y.parse::<i32>()) {
            return NaiveDate::from_ymd_opt(y, m, d).ok_or_else(impossible);
        }
    }
    Err(not_understood())
}

/// A birth year alone (`1990`), when a cell holds only that.
pub(crate) fn birth_year_of(raw: &Raw, today: NaiveDate) -> Option<i32> {
    let year = match raw {
        Raw::Number(n) if n.fract() == 0.0 => *n as i64,
        Raw::Text(s) if s.trim().len() == 4 => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    (1880..=i64::from(today.year()))
        .contains(&year)
        .then_some(year as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn dates_as_serials_and_as_text() {
        assert_eq!(serial_date(45853.0), Some(d(2025, 7, 15)));
        assert_eq!(date_of(&Raw::Number(45853.75)), Ok(d(2025, 7, 15)));
        for s in [
            "15/07/2025",
            "15-7-2025",
            "2025-07-15",
            "15.07.25",
            "15 de julio de 2025",
            "15 jul 2025",
            "45853",
            "2025-07-15T10:00:00",
        ] {
            assert_eq!(date_of(&Raw::Text(s.into())), Ok(d(2025, 7, 15)), "{s}");
        }
        assert!(date_of(&Raw::Text("31/02/2025".into()))
            .unwrap_err()
            .contains("no existe"));
        assert!(date_of(&Raw::Text("ayer".into()))
            .unwrap_err()
            .contains("no se entiende"));
    }

    #[test]
    fn csv_in_spanish_excel_encoding() {
        // "Teléfono;Año" in Windows-1252, with ; as Spanish Excel writes it.
        let bytes = b"Tel\xe9fono;A\xf1o\n7000-0001;1990\n";
        let grid = read_csv(bytes).unwrap_or_default();
        assert_eq!(
            grid[0].1,
            [Raw::Text("Teléfono".into()), Raw::Text("Año".into())]
        );
        assert_eq!(grid[1].0, 2);
    }
}
