//! Tar archives laid out exactly as Go's `archive/tar` writes them with an unspecified format.
//!
//! `oc adm release new` writes the release layer with Go's tar writer, so writing the same bytes
//! makes the uncompressed layer — its `diff_id` — identical to `oc`'s for the same content. Go's
//! choices (`archive/tar` `Writer.WriteHeader`, `Header.allowedFormats`), which differ from the
//! `tar` crate's:
//!
//! * USTAR headers (`ustar\0` magic, version `00`) whenever the entry fits, names over 100 bytes
//!   split into prefix and name at a `/`;
//! * numeric fields in zero-padded octal with a NUL terminator, including the device numbers;
//!   the checksum as six octal digits, NUL, space;
//! * otherwise PAX: an extended header (`<dir>/PaxHeaders.0/<file>`, records sorted by key) with
//!   `path` when the name is not ASCII or too long to split, `mtime` when the time is before
//!   1970 or from year 2242 on (it does not fit eleven octal digits), `size` from 8 GiB on;
//!   then the entry's own header, in which the name field still holds the name's first 100
//!   ASCII bytes (a `/` cut at the end becomes a NUL) and every number that does not fit is
//!   written as zeros. Go would fall back to GNU base-256 only for values PAX cannot carry (a
//!   mode over 21 bits), which this writer refuses instead;
//! * owner 0:0 with empty user and group names; no padding after the two end-of-archive blocks.
//!
//! Times are whole seconds: Go rounds a header's time to the second before choosing the format
//! (see [`crate::mod_time`]), so the caller gives it rounded.
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

use std::collections::BTreeMap;
use std::io::{self, Write};

const BLOCK: usize = 512;
const NAME: usize = 100;
const PREFIX: usize = 155;
/// Go's `maxSpecialFileSize`: the largest PAX extended header it writes.
const MAX_PAX_DATA: usize = 1 << 20;

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

/// Go's `formatString`: copies as much as fits, NUL-terminates when there is room, and when a cut
/// value would end in `/` (which some readers take for a directory) puts the NUL after the last
/// byte that is not a `/`.
fn put_str(field: &mut [u8], s: &str) {
    let s = to_ascii(s);
    let b = s.as_bytes();
    let n = b.len().min(field.len());
    field[..n].copy_from_slice(&b[..n]);
    if b.len() < field.len() {
        field[b.len()] = 0;
    }
    if b.len() > field.len() && field[field.len() - 1] == b'/' {
        let kept = s[..field.len() - 1].trim_end_matches('/').len();
        field[kept] = 0;
    }
}

/// Go's `fitsInOctal`: `x` in octal with its NUL terminator fits a field `width` bytes wide.
fn fits_in_octal(width: usize, x: i64) -> bool {
    let bits = (width - 1) * 3;
    x >= 0 && (width >= 22 || x < 1i64 << bits)
}

/// Go's `formatOctal`: zero-padded, leaving room for the NUL; a value that does not fit is
/// written as zero (the PAX record carries it).
fn put_octal(field: &mut [u8], x: i64) {
    let x = if fits_in_octal(field.len(), x) { x } else { 0 };
    let width = field.len() - 1;
    put_str(field, &format!("{x:0width$o}"));
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

/// Go's `path.Clean`.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// The name Go gives the extended header of `name`: `path.Join(dir, "PaxHeaders.0", file)` after
/// `path.Split`, then (`writeRawFile`) ASCII only, at most 100 bytes, no trailing `/`.
fn pax_header_name(name: &str) -> String {
    let (dir, file) = match name.rfind('/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    let joined = [dir, "PaxHeaders.0", file]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    let mut ascii = to_ascii(&clean_path(&joined));
    ascii.truncate(NAME);
    ascii.trim_end_matches('/').to_string()
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

fn invalid(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, reason)
}

/// The PAX records Go's `allowedFormats` asks for, keyed and so sorted as Go sorts them; none
/// means USTAR.
fn pax_records(name: &str, mtime: i64, size: i64) -> BTreeMap<&'static str, String> {
    let mut pax = BTreeMap::new();
    let fits_name = is_ascii(name) && name.len() <= NAME;
    if !fits_name && split_ustar(name).is_none() {
        pax.insert("path", name.to_string());
    }
    if !fits_in_octal(12, mtime) {
        pax.insert("mtime", mtime.to_string());
    }
    if !fits_in_octal(12, size) {
        pax.insert("size", size.to_string());
    }
    pax
}

impl<W: Write> GoTarWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        GoTarWriter { out }
    }

    /// Adds a directory (type `5`). `mtime` is in whole seconds since the epoch.
    pub fn append_dir(&mut self, name: &str, mode: u32, mtime: i64) -> io::Result<()> {
        self.entry(name, b'5', mode, mtime, &[])
    }

    /// Adds a regular file (type `0`). `mtime` is in whole seconds since the epoch. A name
    /// ending in `/` is refused, as Go refuses it.
    pub fn append_file(
        &mut self,
        name: &str,
        mode: u32,
        mtime: i64,
        data: &[u8],
    ) -> io::Result<()> {
        if name.ends_with('/') {
            return Err(invalid(format!(
                "tar file name {name:?} may not have a trailing slash"
            )));
        }
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
        if name.contains('\0') {
            return Err(invalid(format!("tar name {name:?} holds a NUL byte")));
        }
        let mode = i64::from(mode);
        if !fits_in_octal(8, mode) {
            return Err(invalid(format!(
                "tar mode {mode:o} of {name:?} needs the GNU format, which is not written"
            )));
        }
        let size = i64::try_from(data.len()).unwrap_or(i64::MAX);
        let pax = pax_records(name, mtime, size);
        let mut block = [0u8; BLOCK];
        if pax.is_empty() {
            match split_ustar(name) {
                Some((prefix, rest)) => {
                    put_str(&mut block[0..100], rest);
                    put_str(&mut block[345..500], prefix);
                }
                None => put_str(&mut block[0..100], name),
            }
        } else {
            self.write_pax_header(name, &pax)?;
            put_str(&mut block[0..100], name);
        }
        put_octal(&mut block[100..108], mode);
        put_octal(&mut block[108..116], 0);
        put_octal(&mut block[116..124], 0);
        put_octal(&mut block[124..136], size);
        put_octal(&mut block[136..148], mtime);
        block[156] = kind;
        put_octal(&mut block[329..337], 0);
        put_octal(&mut block[337..345], 0);
        set_ustar_magic(&mut block);
        set_checksum(&mut block);
        self.out.write_all(&block)?;
        self.write_padded(data)
    }

    /// Go's `writeRawFile` of the extended header: a V7 header (no device numbers) with the
    /// USTAR magic, then the records.
    fn write_pax_header(
        &mut self,
        name: &str,
        pax: &BTreeMap<&'static str, String>,
    ) -> io::Result<()> {
        let records: String = pax.iter().map(|(k, v)| pax_record(k, v)).collect();
        if records.len() > MAX_PAX_DATA {
            return Err(invalid(format!(
                "the PAX header of {:?} would be {} bytes, over Go's limit",
                to_ascii(name).chars().take(NAME).collect::<String>(),
                records.len()
            )));
        }
        let mut h = [0u8; BLOCK];
        put_str(&mut h[0..100], &pax_header_name(name));
        put_octal(&mut h[100..108], 0);
        put_octal(&mut h[108..116], 0);
        put_octal(&mut h[116..124], 0);
        put_octal(&mut h[124..136], records.len() as i64);
        put_octal(&mut h[136..148], 0);
        h[156] = b'x';
        set_ustar_magic(&mut h);
        set_checksum(&mut h);
        self.out.write_all(&h)?;
        self.write_padded(records.as_bytes())
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

    /// A header block as Go's writer fills it: each field's bytes written out by hand, the
    /// checksum (sum of the bytes, its own field counted as spaces) computed here.
    fn go_block(fields: &[(usize, &[u8])]) -> Vec<u8> {
        let mut b = vec![0u8; BLOCK];
        for (at, bytes) in fields {
            b[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        let sum: u32 = b
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(x)
                }
            })
            .sum();
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        b
    }

    /// Go's extended header: V7 fields, no device numbers, USTAR magic.
    fn go_pax_block(name: &[u8], records: usize) -> Vec<u8> {
        let size = format!("{records:011o}\0");
        go_block(&[
            (0, name),
            (100, b"0000000\0"),
            (108, b"0000000\0"),
            (116, b"0000000\0"),
            (124, size.as_bytes()),
            (136, b"00000000000\0"),
            (156, b"x"),
            (257, b"ustar\x0000"),
        ])
    }

    /// Go's header of a regular file, mode 0444, owner 0:0.
    fn go_file_block(name: &[u8], size: &[u8], mtime: &[u8]) -> Vec<u8> {
        go_block(&[
            (0, name),
            (100, b"0000444\0"),
            (108, b"0000000\0"),
            (116, b"0000000\0"),
            (124, size),
            (136, mtime),
            (156, b"0"),
            (257, b"ustar\x0000"),
            (329, b"0000000\x000000000\0"),
        ])
    }

    fn padded(data: &[u8]) -> Vec<u8> {
        let mut v = data.to_vec();
        v.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
        v
    }

    #[test]
    fn pax_long_name_keeps_its_first_100_bytes_in_the_ustar_name_field() {
        // The file name alone is over 100 bytes: no USTAR split, so PAX.
        let name = format!("release-manifests/{}.yaml", "n".repeat(150));
        assert_eq!(name.len(), 173);
        let mut w = GoTarWriter::new(Vec::new());
        w.append_file(&name, 0o444, 1_700_000_000, b"kind: X\n")
            .unwrap();
        let tar = w.finish().unwrap();

        // 4 + 173 + 3 = 180 bytes, plus the three digits of the length itself.
        let record = format!("183 path={name}\n");
        assert_eq!(record.len(), 183);
        let pax_name = format!("release-manifests/PaxHeaders.0/{}", "n".repeat(69));
        assert_eq!(pax_name.len(), 100);
        let mut expected = go_pax_block(pax_name.as_bytes(), 183);
        expected.extend(padded(record.as_bytes()));
        expected.extend(go_file_block(
            &name.as_bytes()[..100],
            b"00000000010\0",
            b"14524770400\0",
        ));
        expected.extend(padded(b"kind: X\n"));
        expected.extend([0u8; 2 * BLOCK]);
        assert_eq!(tar, expected);
    }

    #[test]
    fn cut_name_ending_in_a_slash_gets_a_nul_as_go_writes_it() {
        // Bytes 98 and 99 of the name are `//`; the last element (120 bytes) cannot be split off.
        let name = format!("release-manifests/{}//{}", "a".repeat(80), "b".repeat(120));
        let mut w = GoTarWriter::new(Vec::new());
        w.append_file(&name, 0o444, 0, b"").unwrap();
        let tar = w.finish().unwrap();

        // Go cleans the extended header's path (`path.Join`), so `//` becomes `/`.
        let pax_name = format!("release-manifests/{}/P", "a".repeat(80));
        // 4 + 220 + 3 = 227, plus three digits.
        let record = format!("230 path={name}\n");
        assert_eq!(record.len(), 230);
        let mut ustar_name = name.as_bytes()[..100].to_vec();
        // The first 100 bytes end in `//`: the NUL goes after the last byte that is not a `/`,
        // the byte after it is left as it was.
        ustar_name[98] = 0;
        assert_eq!(ustar_name[99], b'/');
        let mut expected = go_pax_block(pax_name.as_bytes(), 230);
        expected.extend(padded(record.as_bytes()));
        expected.extend(go_file_block(
            &ustar_name,
            b"00000000000\0",
            b"00000000000\0",
        ));
        expected.extend([0u8; 2 * BLOCK]);
        assert_eq!(tar, expected);
    }

    #[test]
    fn out_of_range_mtimes_go_to_a_pax_record_and_zeros_in_the_header() {
        // Before 1970, and 8^11 s (year 2242): neither fits eleven octal digits.
        for (mtime, record) in [(-5i64, "12 mtime=-5\n"), (1 << 33, "20 mtime=8589934592\n")] {
            let mut w = GoTarWriter::new(Vec::new());
            w.append_file("a", 0o444, mtime, b"").unwrap();
            let tar = w.finish().unwrap();
            assert_eq!(record.len(), record[..2].parse::<usize>().unwrap());
            let mut expected = go_pax_block(b"PaxHeaders.0/a", record.len());
            expected.extend(padded(record.as_bytes()));
            expected.extend(go_file_block(b"a", b"00000000000\0", b"00000000000\0"));
            expected.extend([0u8; 2 * BLOCK]);
            assert_eq!(tar, expected, "mtime {mtime}");
        }
        // The largest time that fits stays USTAR.
        let mut w = GoTarWriter::new(Vec::new());
        w.append_file("a", 0o444, (1 << 33) - 1, b"").unwrap();
        let tar = w.finish().unwrap();
        let mut expected = go_file_block(b"a", b"00000000000\0", b"77777777777\0");
        expected.extend([0u8; 2 * BLOCK]);
        assert_eq!(tar, expected);
    }

    #[test]
    fn what_go_refuses_is_refused() {
        let mut w = GoTarWriter::new(Vec::new());
        for (name, mode) in [("a/", 0o444), ("a\0b", 0o444), ("a", 0o20000000)] {
            let err = w.append_file(name, mode, 0, b"").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
        assert_eq!(w.finish().unwrap().len(), 2 * BLOCK);
    }
}
