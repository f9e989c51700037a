//! Messages from the file system: single `.eml` files, folders (recursively, Maildir
//! included), and mbox files (a file whose first line starts with `From `).

use std::io::Read;
use std::path::{Path, PathBuf};

/// One message to classify, or the reason it could not be read.
pub struct Item {
    /// The file it came from, as given or found.
    pub file: String,
    /// Position in an mbox file (0-based); `None` for a one-message file.
    pub index: Option<usize>,
    pub bytes: Result<Vec<u8>, String>,
}

/// Every file under the given paths, in a stable order (folders sorted by name). Hidden files
/// and Maildir `tmp/` folders (deliveries in progress) are skipped. Paths that cannot be read,
/// and those that are not regular files (devices, FIFOs, sockets, links not followed) come as
/// errors with the reason: nothing is skipped in silence.
pub fn files(paths: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => out.push(Err((path.clone(), e.to_string()))),
            Ok(m) if m.is_file() => out.push(Ok(path.clone())),
            Ok(m) if !m.is_dir() => out.push(Err((path.clone(), skipped(m.file_type())))),
            Ok(_) => {
                let walker = walkdir::WalkDir::new(path)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| !is_maildir_tmp(e.path()));
                for entry in walker {
                    match entry {
                        Ok(e) if e.file_name().to_string_lossy().starts_with('.') && e.depth() > 0 => {}
                        Ok(e) if e.file_type().is_file() => out.push(Ok(e.into_path())),
                        Ok(e) if e.file_type().is_dir() => {}
                        Ok(e) => {
                            let why = skipped(e.file_type());
                            out.push(Err((e.into_path(), why)));
                        }
                        Err(e) => out.push(Err((e.path().map(Path::to_path_buf).unwrap_or_default(), e.to_string()))),
                    }
                }
            }
        }
    }
    out
}

/// Why a path that is not a regular file is skipped.
fn skipped(t: std::fs::FileType) -> String {
    use std::os::unix::fs::FileTypeExt;
    let what = if t.is_symlink() {
        "a symbolic link (not followed inside folders)"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    format!("skipped: {what}")
}

fn is_maildir_tmp(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == "tmp")
        && p.parent().is_some_and(|d| d.join("cur").is_dir() && d.join("new").is_dir())
}

/// The messages of one file: one, or every message of an mbox, read whole.
pub fn messages(path: &Path) -> Vec<Item> {
    read(path, usize::MAX).collect()
}

/// The messages of one file, each at most `max_bytes` (and one byte more, so the module sees
/// that it was cut): a one-message file is read no further, whatever its size; an mbox is read
/// message by message, never whole.
pub fn read(path: &Path, max_bytes: usize) -> Box<dyn Iterator<Item = Item>> {
    let file = path.display().to_string();
    let error = |e: String| -> Box<dyn Iterator<Item = Item>> {
        Box::new(std::iter::once(Item { file: file.clone(), index: None, bytes: Err(e) }))
    };
    let limit = (max_bytes as u64).saturating_add(1);
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return error(format!("cannot read {file}: {e}")),
    };
    // A path may have become something else since it was listed: read regular files only.
    match f.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(m) => return error(format!("{file}: {}", skipped(m.file_type()))),
        Err(e) => return error(format!("cannot read {file}: {e}")),
    }
    let mut head = Vec::new();
    if let Err(e) = (&mut f).take(limit).read_to_end(&mut head) {
        return error(format!("cannot read {file}: {e}"));
    }
    if !head.starts_with(b"From ") {
        return Box::new(std::iter::once(Item { file, index: None, bytes: Ok(head) }));
    }
    // An mbox. Old Mac files end lines with CR alone: the mbox reader splits on LF.
    let stream: Box<dyn std::io::BufRead> = if !head.contains(&b'\n') {
        let converted: Vec<u8> = head.iter().map(|&b| if b == b'\r' { b'\n' } else { b }).collect();
        Box::new(std::io::Cursor::new(converted))
    } else {
        Box::new(std::io::BufReader::new(std::io::Cursor::new(head).chain(f)))
    };
    let max = usize::try_from(limit).unwrap_or(usize::MAX);
    Box::new(mail_parser::mailbox::mbox::MessageIterator::new(stream).enumerate().map(move |(i, m)| {
        Item {
            file: file.clone(),
            index: Some(i),
            bytes: m
                .map(|m| {
                    let mut bytes = m.unwrap_contents();
                    bytes.truncate(max);
                    bytes
                })
                .map_err(|e| format!("cannot read {file}: {e}")),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_maildir_and_missing_paths() {
        let dir = std::env::temp_dir().join(format!("ndr-source-test-{}", std::process::id()));
        let maildir = dir.join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        std::fs::write(maildir.join("new/1.eml"), "Subject: a\n\nx\n").unwrap();
        std::fs::write(maildir.join("tmp/2.eml"), "Subject: partial").unwrap();
        std::fs::write(dir.join("box.mbox"), "From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nx\n\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\n>From y\n").unwrap();
        let found = files(&[dir.clone(), dir.join("missing")]);
        let ok: Vec<_> = found.iter().filter_map(|f| f.as_ref().ok()).collect();
        assert_eq!(ok.len(), 2, "{ok:?}");
        assert!(found.iter().any(|f| f.is_err()));
        let mbox = messages(&dir.join("box.mbox"));
        assert_eq!(mbox.len(), 2);
        assert_eq!(mbox[1].index, Some(1));
        assert!(String::from_utf8_lossy(mbox[1].bytes.as_ref().unwrap()).contains("Subject: 2"));
        std::fs::write(dir.join("mac.eml"), "From a@b Mon Jan  1 00:00:00 2024\rSubject: cr\r\rbody\r").unwrap();
        let mac = messages(&dir.join("mac.eml"));
        assert_eq!(mac.len(), 1);
        assert!(String::from_utf8_lossy(mac[0].bytes.as_ref().unwrap()).starts_with("Subject: cr\n"));
        std::fs::write(dir.join("big.eml"), vec![b'x'; 1000]).unwrap();
        let cut: Vec<Item> = read(&dir.join("big.eml"), 100).collect();
        assert_eq!(cut[0].bytes.as_ref().unwrap().len(), 101);
        let dev = files(&[PathBuf::from("/dev/null")]);
        assert!(matches!(&dev[0], Err((_, why)) if why.contains("character device")), "{:?}", dev[0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
