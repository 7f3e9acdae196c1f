//! Where the chain lives on disk: the active segment (`audit.jsonl`), the sealed segments before
//! it (`audit.jsonl.000001`, `…000002`, oldest first) and the head file (`audit.jsonl.head`).
//! Reading the last record works on bytes, backwards from the end, so neither a multi-byte
//! character nor a record of any length can make it fail.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How much is read per step when looking for the start of the last line.
const TAIL_CHUNK: usize = 8 * 1024;

/// The head file: the seq and hash of the last record written.
pub(super) fn head_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".head");
    PathBuf::from(p)
}

/// The sealed segment number `n` of the log at `path`.
pub(super) fn sealed_path(path: &Path, n: u32) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{n:06}"));
    PathBuf::from(p)
}

/// The sealed segments of the log at `path`, oldest first, with their numbers.
pub(super) fn sealed_segments(path: &Path) -> std::io::Result<Vec<(u32, PathBuf)>> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(base) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{base}.");
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if rest.len() == 6
            && rest.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = rest.parse::<u32>()
        {
            found.push((n, dir.join(&name)));
        }
    }
    found.sort();
    Ok(found)
}

/// The last line of a file (without its newline) and whether the file lacks a final newline;
/// `None` for an empty file. Reads backwards in chunks until the line's start is found.
pub(super) fn last_line(file: &mut File) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut end = len;
    let mut last_byte = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last_byte)?;
    let needs_newline = last_byte[0] != b'\n';
    if !needs_newline {
        end -= 1;
    }
    // Collect chunks from the end until a newline (or the file's start) is met.
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut pos = end;
    loop {
        if pos == 0 {
            break;
        }
        let size = (TAIL_CHUNK as u64).min(pos);
        pos -= size;
        file.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0u8; size as usize];
        file.read_exact(&mut chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            chunks.push(chunk.split_off(i + 1));
            break;
        }
        chunks.push(chunk);
    }
    let line: Vec<u8> = chunks.into_iter().rev().flatten().collect();
    Ok(Some((line, needs_newline)))
}

/// Fsyncs a directory so that a rename or a new file in it survives a crash.
pub(super) fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn last_of(bytes: &[u8]) -> Option<(Vec<u8>, bool)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        last_line(&mut File::open(&path).unwrap()).unwrap()
    }

    #[test]
    fn the_last_line_is_found_at_any_length_and_any_byte_boundary() {
        assert_eq!(last_of(b""), None);
        assert_eq!(last_of(b"\n"), Some((Vec::new(), false)));
        assert_eq!(last_of(b"one"), Some((b"one".to_vec(), true)));
        assert_eq!(last_of(b"one\ntwo\n"), Some((b"two".to_vec(), false)));
        // A line far longer than one chunk, made of 3-byte characters, so that every chunk
        // boundary falls inside a character.
        let long = "缓存".repeat(50_000);
        let text = format!("first\n{long}\n");
        assert_eq!(
            last_of(text.as_bytes()),
            Some((long.as_bytes().to_vec(), false))
        );
        // A torn multi-byte character at the end is returned as bytes, not an error.
        let mut torn = b"a\n".to_vec();
        torn.extend_from_slice(&"订".as_bytes()[..2]);
        assert_eq!(last_of(&torn), Some((torn[2..].to_vec(), true)));
        // Exactly one chunk long, with the newline at the chunk's first byte.
        let exact = format!("x\n{}\n", "y".repeat(TAIL_CHUNK - 1));
        assert_eq!(last_of(exact.as_bytes()).unwrap().0.len(), TAIL_CHUNK - 1);
    }

    #[test]
    fn sealed_segments_are_listed_oldest_first_and_strangers_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        for name in [
            "audit.jsonl.000010",
            "audit.jsonl.000002",
            "audit.jsonl.head",
            "audit.jsonl.tmp",
            "audit.jsonl.12",
            "other.jsonl.000001",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let found: Vec<u32> = sealed_segments(&path)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(found, vec![2, 10]);
        assert_eq!(sealed_path(&path, 3), dir.path().join("audit.jsonl.000003"));
    }
}
