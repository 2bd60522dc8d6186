//! The vDSO images of the native i386 profiles: the bytes of `[vdso]` that Debian's 6.1
//! `686` and `686-pae` kernels map (two builds, two images), as a static program dumped them
//! in the QEMU oracle (scripts/i386-oracle/vdso.c; tests/golden/i386/*/vdso.txt: its maps
//! line and auxiliary-vector entries, then the image in hex, 32 bytes a line). No machine
//! the model runs on has these kernels to read them from, so the goldens are built in and
//! parsed on first use.

use std::sync::{Arc, OnceLock};

/// tests/golden/i386/686/vdso.txt.
const LINUX_6_1_686: &str = include_str!("../../../../../tests/golden/i386/686/vdso.txt");
/// tests/golden/i386/686-pae/vdso.txt.
const LINUX_6_1_686_PAE: &str = include_str!("../../../../../tests/golden/i386/686-pae/vdso.txt");

/// The image a dump holds: the hex lines after the three header lines; `None` if a line is
/// not hex.
fn parse_dump(text: &str) -> Option<Arc<[u8]>> {
    let mut bytes = Vec::new();
    for line in text.lines().skip(3).filter(|l| !l.is_empty()) {
        if line.len() % 2 != 0 {
            return None;
        }
        for pair in line.as_bytes().chunks(2) {
            bytes.push(u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?);
        }
    }
    Some(Arc::from(bytes))
}

/// The `[vdso]` image of Debian's 6.1 i386 kernel, with PAE (`686-pae`) or without (`686`).
pub fn i386_linux_6_1_image(pae: bool) -> Option<Arc<[u8]>> {
    static IMAGES: OnceLock<[Option<Arc<[u8]>>; 2]> = OnceLock::new();
    let images = IMAGES.get_or_init(|| [parse_dump(LINUX_6_1_686), parse_dump(LINUX_6_1_686_PAE)]);
    images[usize::from(pae)].clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_images_are_two_pages_of_an_elf32_object() {
        for pae in [false, true] {
            let image = i386_linux_6_1_image(pae).expect("the golden parses");
            assert_eq!(image.len(), 2 * 4096);
            assert_eq!(&image[..6], b"\x7fELF\x01\x01");
        }
        assert_ne!(i386_linux_6_1_image(false), i386_linux_6_1_image(true), "two kernel builds");
    }

    #[test]
    fn a_dump_with_a_line_that_is_not_hex_gives_no_image() {
        assert!(parse_dump("a\nb\nc\n7f45zz\n").is_none());
        assert!(parse_dump("a\nb\nc\n7f4\n").is_none());
        assert_eq!(parse_dump("a\nb\nc\n7f45\n").as_deref(), Some(&[0x7f, 0x45][..]));
    }
}
