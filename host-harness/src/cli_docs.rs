//! Man pages and shell completions generated from the command-line definition, so the
//! installed documentation never drifts from the options `ndr` accepts (the Debian package
//! runs `ndr generate man|completions DIR` at build time).

use std::path::Path;

use anyhow::Context;
use clap_complete::Shell;

/// Shells the package ships completions for.
const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// `ndr.1` and one `ndr-SUBCOMMAND.1` page per subcommand (nested ones joined by `-`), into `dir`.
pub fn write_man_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(cmd, dir).with_context(|| format!("writing man pages to {}", dir.display()))
}

/// Completion scripts for bash (`ndr`), zsh (`_ndr`) and fish (`ndr.fish`), into `dir`.
pub fn write_completions(mut cmd: clap::Command, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = cmd.get_name().to_string();
    for shell in SHELLS {
        clap_complete::generate_to(shell, &mut cmd, &name, dir)
            .with_context(|| format!("writing {shell} completion to {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_completions_cover_every_subcommand() {
        let cmd = || {
            clap::Command::new("ndr")
                .about("classify")
                .subcommand(clap::Command::new("milter").arg(clap::Arg::new("listen").long("listen")))
                .subcommand(clap::Command::new("secret").hide(true))
        };
        let dir = std::env::temp_dir().join(format!("ndr-cli-docs-{}", std::process::id()));
        write_man_pages(cmd(), &dir.join("man")).unwrap();
        write_completions(cmd(), &dir.join("completions")).unwrap();
        let page = std::fs::read_to_string(dir.join("man/ndr-milter.1")).unwrap();
        assert!(page.contains("listen"), "{page}");
        assert!(!dir.join("man/ndr-secret.1").exists(), "hidden subcommands get no page");
        for f in ["ndr.bash", "_ndr", "ndr.fish"] {
            let text = std::fs::read_to_string(dir.join("completions").join(f)).unwrap();
            assert!(text.contains("milter"), "{f}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
