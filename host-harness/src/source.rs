//! Messages from the file system: single `.eml` files, folders (recursively, Maildir
//! included), and mbox files (a file whose first line starts with `From `).

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
/// and Maildir `tmp/` folders (deliveries in progress) are skipped. Unreadable paths become
/// items with an error.
pub fn files(paths: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => out.push(Err((path.clone(), e.to_string()))),
            Ok(m) if m.is_file() => out.push(Ok(path.clone())),
            Ok(_) => {
                let walker = walkdir::WalkDir::new(path)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| !is_maildir_tmp(e.path()));
                for entry in walker {
                    match entry {
                        Ok(e) if e.file_type().is_file() && !e.file_name().to_string_lossy().starts_with('.') => {
                            out.push(Ok(e.into_path()))
                        }
                        Ok(_) => {}
                        Err(e) => out.push(Err((e.path().map(Path::to_path_buf).unwrap_or_default(), e.to_string()))),
                    }
                }
            }
        }
    }
    out
}

fn is_maildir_tmp(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == "tmp")
        && p.parent().is_some_and(|d| d.join("cur").is_dir() && d.join("new").is_dir())
}

/// The messages of one file: one, or every message of an mbox.
pub fn messages(path: &Path) -> Vec<Item> {
    let file = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return vec![Item { file: file.clone(), index: None, bytes: Err(format!("cannot read {file}: {e}")) }];
        }
    };
    if !bytes.starts_with(b"From ") {
        return vec![Item { file, index: None, bytes: Ok(bytes) }];
    }
    // An mbox. Old Mac files end lines with CR alone: the mbox reader splits on LF.
    let bytes = if !bytes.contains(&b'\n') {
        bytes.iter().map(|&b| if b == b'\r' { b'\n' } else { b }).collect()
    } else {
        bytes
    };
    mail_parser::mailbox::mbox::MessageIterator::new(std::io::Cursor::new(bytes))
        .enumerate()
        .map(|(i, m)| Item {
            file: file.clone(),
            index: Some(i),
            bytes: m.map(|m| m.unwrap_contents()).map_err(|e| format!("cannot read {file}: {e}")),
        })
        .collect()
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
