//! Reading a release as its publisher ships it: a folder or a zip of text files, each found by
//! its header (file names change between releases), decoded whether it is UTF-8 (with or without
//! a byte-order mark) or Windows-1252, with CRLF or LF line ends.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::outcome::ImportError;

/// The most one file may decompress to: the largest O*NET text file is about 30 MB, so this
/// refuses a zip bomb long before it fills memory.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One text file of a release, with the SHA-256 of its bytes as read.
#[derive(Debug)]
pub struct TextFile {
    /// Its name inside the folder or archive.
    pub name: String,
    pub sha256: String,
    pub text: String,
}

impl TextFile {
    fn new(name: String, bytes: &[u8]) -> Self {
        Self { name, sha256: sha256(bytes), text: decode(bytes) }
    }

    /// Its header and rows, columns found by name.
    pub fn table(&self) -> Table<'_> {
        Table::new(self)
    }
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Text as UTF-8 when it is (after a byte-order mark, if any), else as Windows-1252, the
/// encoding older O*NET and BLS files use for names such as "Café".
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The first line of `bytes`' text, for deciding which file it is before decoding it all.
fn first_line(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&byte| byte == b'\n').unwrap_or(bytes.len());
    decode(&bytes[..end]).trim_end_matches('\r').to_owned()
}

/// Reads the text files of `path` (a folder, searched one level down as unzipped releases nest
/// one, or a `.zip`) whose header line `wanted` accepts; the rest are skipped unread past that
/// line, so a release's large unused files cost no memory.
pub fn read_release(path: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<TextFile>, ImportError> {
    let metadata =
        std::fs::metadata(path).map_err(|error| ImportError::missing(format!("{}: {error}", path.display())))?;
    if metadata.is_dir() {
        let mut files = Vec::new();
        for file in text_files_in(path)? {
            let bytes =
                std::fs::read(&file).map_err(|error| ImportError::missing(format!("{}: {error}", file.display())))?;
            if wanted(&first_line(&bytes)) {
                let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                files.push(TextFile::new(name, &bytes));
            }
        }
        Ok(files)
    } else {
        read_zip(path, wanted, MAX_FILE_BYTES)
    }
}

fn text_files_in(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut found = Vec::new();
    let mut subfolders = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|error| ImportError::missing(format!("{}: {error}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            subfolders.push(path);
        } else if path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("txt")) {
            found.push(path);
        }
    }
    if found.is_empty() && subfolders.len() == 1 {
        return text_files_in(&subfolders[0]);
    }
    found.sort();
    Ok(found)
}

fn read_zip(path: &Path, wanted: impl Fn(&str) -> bool, limit: u64) -> Result<Vec<TextFile>, ImportError> {
    let unreadable = |error: &dyn std::fmt::Display| ImportError::missing(format!("{}: {error}", path.display()));
    let file = std::fs::File::open(path).map_err(|error| unreadable(&error))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|error| unreadable(&error))?;
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|error| unreadable(&error))?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        // `enclosed_name` is `None` for absolute paths and for ones that climb out with `..`.
        let Some(inner) = entry.enclosed_name() else {
            return Err(ImportError::refused(format!(
                "{}: refusing the entry `{raw_name}`: its path leaves the archive",
                path.display()
            )));
        };
        if entry.is_dir() || !inner.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("txt")) {
            continue;
        }
        let mut bytes = Vec::new();
        (&mut entry).take(limit + 1).read_to_end(&mut bytes).map_err(|error| unreadable(&error))?;
        if bytes.len() as u64 > limit {
            return Err(ImportError::refused(format!(
                "{}: refusing the entry `{raw_name}`: it decompresses to more than {} bytes",
                path.display(),
                limit
            )));
        }
        if wanted(&first_line(&bytes)) {
            let name = inner.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or(raw_name);
            files.push(TextFile::new(name, &bytes));
        }
    }
    Ok(files)
}

/// The column names of a tab-separated header, trimmed, as a file's header line has them.
pub fn header_names(line: &str) -> Vec<String> {
    line.split('\t').map(|name| name.trim().to_owned()).collect()
}

/// A tab-separated file: columns looked up by header name (case and surrounding space ignored),
/// rows with their line numbers.
pub struct Table<'a> {
    file: &'a TextFile,
    columns: HashMap<String, usize>,
}

/// One data row: its line number in the file and its fields.
pub struct Row<'a> {
    pub line: usize,
    fields: Vec<&'a str>,
}

impl<'a> Table<'a> {
    fn new(file: &'a TextFile) -> Self {
        let header = file.text.lines().next().unwrap_or_default();
        let columns =
            header_names(header).into_iter().enumerate().map(|(index, name)| (name.to_lowercase(), index)).collect();
        Self { file, columns }
    }

    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// The index of the column named `name`; a missing column is an [`ImportError::missing`].
    pub fn column(&self, name: &str) -> Result<usize, ImportError> {
        self.columns
            .get(&name.to_lowercase())
            .copied()
            .ok_or_else(|| ImportError::missing(format!("{}: no column `{name}`", self.file.name)))
    }

    /// The index of `name`, if the file has it (columns later releases added).
    pub fn optional_column(&self, name: &str) -> Option<usize> {
        self.columns.get(&name.to_lowercase()).copied()
    }

    /// The data rows, without blank lines. Fields are split on tabs: O*NET's text files never
    /// quote, and a quote character inside a task statement is text.
    pub fn rows(&self) -> impl Iterator<Item = Row<'a>> + 'a {
        self.file
            .text
            .lines()
            .enumerate()
            .skip(1)
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| Row { line: index + 1, fields: line.trim_end_matches('\r').split('\t').collect() })
    }

    /// How many data rows the file has.
    pub fn row_count(&self) -> usize {
        self.rows().count()
    }
}

impl<'a> Row<'a> {
    /// The field at `column`, trimmed; empty when the row is short.
    pub fn get(&self, column: usize) -> &'a str {
        self.fields.get(column).map_or("", |field| field.trim())
    }

    /// The field at `column`, or `None` when it is empty or `n/a`.
    pub fn value(&self, column: usize) -> Option<&'a str> {
        Some(self.get(column)).filter(|value| !value.is_empty() && !value.eq_ignore_ascii_case("n/a"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_read_as_utf8_or_windows_1252_without_a_byte_order_mark() {
        assert_eq!(decode(b"\xEF\xBB\xBFCaf\xC3\xA9"), "Café");
        assert_eq!(decode(b"Caf\xE9 \x96 bar"), "Café – bar");
    }

    /// An entry that decompresses past the bound is refused as it is read, not after: a zip
    /// bomb never fills memory.
    #[test]
    fn an_entry_that_decompresses_past_the_bound_is_refused() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("db_29_1_text.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("a file"));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("db_29_1_text/Occupation Data.txt", options).expect("an entry");
        zip.write_all(&vec![b'a'; 1 << 20]).expect("written");
        zip.finish().expect("finished");
        assert!(std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(u64::MAX) < 10_000, "it compresses well");
        let refused = read_zip(&path, |_| true, 64 * 1024).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(refused.contains("decompresses to more than 65536 bytes"), "{refused}");
        assert!(read_zip(&path, |_| true, 2 << 20).is_ok());
    }

    #[test]
    fn rows_know_their_lines_and_read_n_a_as_nothing() {
        let file = TextFile::new("t.txt".into(), b"A\tB\r\n1\tn/a\r\n\r\n2\tx\r\n");
        let table = file.table();
        let b = table.column("b").ok();
        assert_eq!(b, Some(1));
        let rows: Vec<_> = table.rows().map(|row| (row.line, row.get(0), row.value(1))).collect();
        assert_eq!(rows, vec![(2, "1", None), (4, "2", Some("x"))]);
        assert!(table.column("C").is_err());
    }
}
