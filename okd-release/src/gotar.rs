//! Tar archives laid out exactly as Go's `archive/tar` writes them with an unspecified format.
//!
//! `oc adm release new` writes the release layer with Go's tar writer, so writing the same bytes
//! makes the uncompressed layer — its `diff_id` — identical to `oc`'s for the same content. Go's
//! choices, which differ from the `tar` crate's:
//!
//! * USTAR headers (`ustar\0` magic, version `00`) whenever the entry fits, names over 100 bytes
//!   split into prefix and name at a `/`;
//! * numeric fields in zero-padded octal with a NUL terminator, including the device numbers;
//!   the checksum as six octal digits, NUL, space;
//! * a PAX extended header (`<dir>/PaxHeaders.0/<file>`, sorted `path`/`mtime` records) when a
//!   name cannot be expressed in USTAR (non-ASCII, or too long to split), or an mtime is
//!   negative;
//! * owner 0:0 with empty user and group names; no padding after the two end-of-archive blocks.
//!
//! ```
//! use okd_release::gotar::GoTarWriter;
//!
//! let mut w = GoTarWriter::new(Vec::new());
//! w.append_dir("release-manifests", 0o777, 1_700_000_000)?;
//! w.append_file("release-manifests/release-metadata", 0o444, 1_700_000_000, b"{}")?;
//! let tar = w.finish()?;
//! assert_eq!(tar.len(), 512 * 5);
//! assert_eq!(&tar[257..265], b"ustar\x0000");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Write};

const BLOCK: usize = 512;
const NAME: usize = 100;
const PREFIX: usize = 155;

/// Writes a tar stream in Go's layout. See the [module docs](self).
#[derive(Debug)]
pub struct GoTarWriter<W: Write> {
    out: W,
}

fn is_ascii(s: &str) -> bool {
    s.bytes().all(|b| b < 0x80 && b != 0)
}

fn to_ascii(s: &str) -> String {
    s.chars()
        .filter(|c| (*c as u32) < 0x80 && *c != '\0')
        .collect()
}

/// Go's `formatString`: copies and NUL-terminates when there is room; a value longer than the
/// field is not written at all.
fn put_str(field: &mut [u8], s: &str) {
    let s = to_ascii(s);
    if s.len() > field.len() {
        return;
    }
    field[..s.len()].copy_from_slice(s.as_bytes());
    if s.len() < field.len() {
        field[s.len()] = 0;
    }
}

/// Go's `formatOctal`: zero-padded, leaving room for the NUL (a negative number keeps its sign
/// after the padding, as `strconv.FormatInt` gives it).
fn put_octal(field: &mut [u8], x: i64) {
    let digits = if x < 0 {
        format!("-{:o}", x.unsigned_abs())
    } else {
        format!("{x:o}")
    };
    let width = field.len() - 1;
    let s = if digits.len() < width {
        format!("{}{digits}", "0".repeat(width - digits.len()))
    } else {
        digits
    };
    put_str(field, &s);
}

/// Go's `splitUSTARPath`.
fn split_ustar(name: &str) -> Option<(&str, &str)> {
    let mut length = name.len();
    if length <= NAME || !is_ascii(name) {
        return None;
    }
    if length > PREFIX + 1 {
        length = PREFIX + 1;
    } else if name.as_bytes()[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].rfind('/')?;
    let suffix_len = name.len() - i - 1;
    if i == 0 || suffix_len > NAME || suffix_len == 0 || i > PREFIX {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// Go's `formatPAXRecord`.
fn pax_record(key: &str, value: &str) -> String {
    let mut size = key.len() + value.len() + 3;
    size += size.to_string().len();
    let record = format!("{size} {key}={value}\n");
    if record.len() != size {
        return format!("{} {key}={value}\n", record.len());
    }
    record
}

fn set_checksum(block: &mut [u8; BLOCK]) {
    let sum: i64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(*b)
            }
        })
        .sum();
    put_octal(&mut block[148..155], sum);
    block[155] = b' ';
}

fn set_ustar_magic(block: &mut [u8; BLOCK]) {
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
}

impl<W: Write> GoTarWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        GoTarWriter { out }
    }

    /// Adds a directory (type `5`).
    pub fn append_dir(&mut self, name: &str, mode: u32, mtime: i64) -> io::Result<()> {
        self.entry(name, b'5', mode, mtime, &[])
    }

    /// Adds a regular file (type `0`).
    pub fn append_file(
        &mut self,
        name: &str,
        mode: u32,
        mtime: i64,
        data: &[u8],
    ) -> io::Result<()> {
        self.entry(name, b'0', mode, mtime, data)
    }

    fn entry(
        &mut self,
        name: &str,
        kind: u8,
        mode: u32,
        mtime: i64,
        data: &[u8],
    ) -> io::Result<()> {
        let mut pax: Vec<(&str, String)> = Vec::new();
        let split = split_ustar(name);
        let name_fits = is_ascii(name) && (name.len() <= NAME || split.is_some());
        if !name_fits {
            pax.push(("path", name.to_string()));
        }
        if mtime < 0 {
            pax.push(("mtime", mtime.to_string()));
        }
        pax.sort();
        let mut block = [0u8; BLOCK];
        if !pax.is_empty() {
            let records: String = pax.iter().map(|(k, v)| pax_record(k, v)).collect();
            let (dir, file) = match name.rfind('/') {
                Some(i) => (&name[..i], &name[i + 1..]),
                None => ("", name),
            };
            let mut pax_name = if dir.is_empty() {
                format!("PaxHeaders.0/{file}")
            } else {
                format!("{dir}/PaxHeaders.0/{file}")
            };
            pax_name = to_ascii(&pax_name);
            pax_name.truncate(NAME);
            let pax_name = pax_name.trim_end_matches('/');
            let mut h = [0u8; BLOCK];
            put_str(&mut h[0..100], pax_name);
            put_octal(&mut h[100..108], 0);
            put_octal(&mut h[108..116], 0);
            put_octal(&mut h[116..124], 0);
            put_octal(&mut h[124..136], records.len() as i64);
            put_octal(&mut h[136..148], 0);
            h[156] = b'x';
            set_ustar_magic(&mut h);
            set_checksum(&mut h);
            self.out.write_all(&h)?;
            self.write_padded(records.as_bytes())?;
            put_str(&mut block[0..100], name);
        } else if let Some((prefix, rest)) = split {
            put_str(&mut block[0..100], rest);
            put_str(&mut block[345..500], prefix);
        } else {
            put_str(&mut block[0..100], name);
        }
        put_octal(&mut block[100..108], i64::from(mode));
        put_octal(&mut block[108..116], 0);
        put_octal(&mut block[116..124], 0);
        put_octal(&mut block[124..136], data.len() as i64);
        put_octal(&mut block[136..148], mtime);
        block[156] = kind;
        put_octal(&mut block[329..337], 0);
        put_octal(&mut block[337..345], 0);
        set_ustar_magic(&mut block);
        set_checksum(&mut block);
        self.out.write_all(&block)?;
        self.write_padded(data)
    }

    fn write_padded(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
        self.out.write_all(&[0u8; BLOCK][..pad])
    }

    /// Writes the two end-of-archive blocks and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn header(tar: &[u8]) -> &[u8] {
        &tar[..BLOCK]
    }

    #[test]
    fn ustar_header_bytes() {
        let mut w = GoTarWriter::new(Vec::new());
        w.append_file(
            "release-manifests/release-metadata",
            0o444,
            1_685_003_120,
            b"{}",
        )
        .unwrap();
        let tar = w.finish().unwrap();
        let h = header(&tar);
        assert_eq!(&h[..35], b"release-manifests/release-metadata\0");
        assert_eq!(&h[100..108], b"0000444\0");
        assert_eq!(&h[108..124], b"0000000\x000000000\0");
        assert_eq!(&h[124..136], b"00000000002\0");
        assert_eq!(&h[136..148], format!("{:011o}\0", 1_685_003_120).as_bytes());
        assert_eq!(h[155], b' ');
        assert_eq!(h[154], 0);
        assert_eq!(h[156], b'0');
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(&h[265..329], &[0u8; 64][..]);
        assert_eq!(&h[329..345], b"0000000\x000000000\0");
        assert_eq!(tar.len(), 512 * 4);
    }

    #[test]
    fn readable_by_the_tar_crate_with_long_and_unicode_names() {
        let long = format!("release-manifests/0000_50_{}.yaml", "x".repeat(120));
        let very_long = format!("release-manifests/{}", "y".repeat(200));
        let unicode = "release-manifests/é.yaml";
        let mut w = GoTarWriter::new(Vec::new());
        w.append_dir("release-manifests", 0o777, 10).unwrap();
        w.append_file(&long, 0o444, 11, b"a").unwrap();
        w.append_file(&very_long, 0o444, 12, b"bb").unwrap();
        w.append_file(unicode, 0o444, 13, b"ccc").unwrap();
        let tar = w.finish().unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut seen = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = String::new();
            e.read_to_string(&mut data).unwrap();
            seen.push((name, e.header().mtime().unwrap(), data));
        }
        assert_eq!(
            seen,
            [
                ("release-manifests".to_string(), 10, String::new()),
                (long, 11, "a".into()),
                (very_long, 12, "bb".into()),
                (unicode.to_string(), 13, "ccc".into()),
            ]
        );
    }

    #[test]
    fn pax_records_count_their_own_length() {
        assert_eq!(pax_record("path", "a"), "9 path=a\n");
        for n in 80..120 {
            let r = pax_record("path", &"x".repeat(n));
            let declared: usize = r.split(' ').next().unwrap().parse().unwrap();
            assert_eq!(declared, r.len(), "{n}");
        }
        assert_eq!(pax_record("path", &"x".repeat(92)).len(), 102);
    }

    #[test]
    fn negative_mtime_goes_to_pax() {
        let mut w = GoTarWriter::new(Vec::new());
        w.append_file("a", 0o444, -5, b"").unwrap();
        let tar = w.finish().unwrap();
        assert_eq!(tar[156], b'x');
        assert_eq!(&tar[512..521], b"12 mtime=");
        assert_eq!(&tar[1024 + 136..1024 + 148], b"000000000-5\0");
    }
}
