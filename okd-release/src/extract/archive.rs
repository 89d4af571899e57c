//! The archives `release extract --tools` writes, laid out as `oc` writes them.
//!
//! A `.tar.gz` holds `README.md` (mode 0644), the binary (0755) and, for the client, a hard
//! link `kubectl` to it, every entry with the binary's modification time, in Go's USTAR layout
//! (owner 0:0, no user or group names, octal fields NUL-terminated), gzip level 3. A `.zip`
//! (Windows) holds `README.md` with CRLF line ends and `<command>.exe`, both deflated, mode
//! 0755, with an extended-timestamp field, sizes in data descriptors after the data — the layout
//! of Go's `archive/zip`. The binary is streamed in: neither archive holds it in memory.
//!
//! ```
//! use std::io::Write;
//! use okd_release::extract::archive::{Member, Packer};
//!
//! let member = Member { name: "oc", size: 3, mtime: 1_700_000_000, links: &["kubectl"] };
//! let mut packer = Packer::tar_gz(Vec::new(), "# Client\n", &member)?;
//! packer.write_all(b"abc")?;
//! let gz = packer.finish()?;
//! let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
//! let names: Vec<String> = tar.entries()?.map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
//! assert_eq!(names, ["README.md", "oc", "kubectl"]);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder};

const BLOCK: usize = 512;

/// The binary an archive holds.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Its name in the archive.
    pub name: &'a str,
    /// Its size, known before its bytes (a tar header comes first).
    pub size: u64,
    /// Its modification time, seconds since the epoch.
    pub mtime: i64,
    /// Hard links to it (tar only).
    pub links: &'a [&'a str],
}

/// Writes one archive; the binary's bytes are written through [`Write`], then [`Packer::finish`].
#[derive(Debug)]
pub enum Packer<W: Write> {
    /// A `.tar.gz`.
    TarGz(TarGz<W>),
    /// A `.zip`.
    Zip(Zip<W>),
}

impl<W: Write> Packer<W> {
    /// A `.tar.gz` into `out`, `readme` and the header of `member` already written.
    pub fn tar_gz(out: W, readme: &str, member: &Member<'_>) -> io::Result<Packer<W>> {
        let mut gz = GzEncoder::new(out, Compression::new(3));
        let readme = readme.as_bytes();
        gz.write_all(&ustar(
            "README.md",
            0o644,
            readme.len() as u64,
            member.mtime,
            b'0',
            "",
        )?)?;
        gz.write_all(readme)?;
        gz.write_all(&[0u8; BLOCK][..pad(readme.len() as u64)])?;
        gz.write_all(&ustar(
            member.name,
            0o755,
            member.size,
            member.mtime,
            b'0',
            "",
        )?)?;
        Ok(Packer::TarGz(TarGz {
            gz,
            name: member.name.to_string(),
            size: member.size,
            mtime: member.mtime,
            links: member.links.iter().map(|l| l.to_string()).collect(),
            written: 0,
        }))
    }

    /// A `.zip` into `out`, `readme` (written with CRLF line ends) already written and the
    /// binary's entry begun.
    pub fn zip(out: W, readme: &str, member: &Member<'_>) -> io::Result<Packer<W>> {
        let mut zip = Zip {
            out: Counting {
                inner: out,
                count: 0,
            },
            entries: Vec::new(),
            current: None,
            mtime: member.mtime,
        };
        zip.begin("README.md")?;
        zip.write_all(readme.replace('\n', "\r\n").as_bytes())?;
        zip.end()?;
        zip.begin(member.name)?;
        Ok(Packer::Zip(zip))
    }

    /// Ends the archive and returns the sink.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Packer::TarGz(t) => t.finish(),
            Packer::Zip(z) => z.finish(),
        }
    }
}

impl<W: Write> Write for Packer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Packer::TarGz(t) => {
                let n = t.gz.write(buf)?;
                t.written += n as u64;
                Ok(n)
            }
            Packer::Zip(z) => z.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Packer::TarGz(t) => t.gz.flush(),
            Packer::Zip(z) => z.out.flush(),
        }
    }
}

/// A `.tar.gz` being written.
#[derive(Debug)]
pub struct TarGz<W: Write> {
    gz: GzEncoder<W>,
    name: String,
    size: u64,
    mtime: i64,
    links: Vec<String>,
    written: u64,
}

impl<W: Write> TarGz<W> {
    fn finish(mut self) -> io::Result<W> {
        if self.written != self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} announced {} bytes but {} were written",
                    self.name, self.size, self.written
                ),
            ));
        }
        self.gz.write_all(&[0u8; BLOCK][..pad(self.size)])?;
        for link in &self.links {
            self.gz
                .write_all(&ustar(link, 0o755, 0, self.mtime, b'1', &self.name)?)?;
        }
        self.gz.write_all(&[0u8; 2 * BLOCK])?;
        self.gz.finish()
    }
}

/// Zero bytes after `size` bytes of data, up to the next block.
fn pad(size: u64) -> usize {
    (BLOCK - (size % BLOCK as u64) as usize) % BLOCK
}

/// Writes `x` in zero-padded octal, NUL-terminated, as Go does.
fn octal(field: &mut [u8], x: u64) -> io::Result<()> {
    let digits = format!("{x:o}");
    let width = field.len() - 1;
    if digits.len() > width {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{x} does not fit a tar header field"),
        ));
    }
    let text = format!("{digits:0>width$}");
    field[..width].copy_from_slice(text.as_bytes());
    field[width] = 0;
    Ok(())
}

/// One USTAR header block in Go's layout. Names are short ASCII here (the table's).
fn ustar(
    name: &str,
    mode: u32,
    size: u64,
    mtime: i64,
    kind: u8,
    link: &str,
) -> io::Result<[u8; BLOCK]> {
    if name.len() >= 100 || link.len() >= 100 || !name.is_ascii() || !link.is_ascii() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} does not fit a USTAR header"),
        ));
    }
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(mode))?;
    octal(&mut h[108..116], 0)?;
    octal(&mut h[116..124], 0)?;
    octal(&mut h[124..136], size)?;
    octal(&mut h[136..148], u64::try_from(mtime).unwrap_or(0))?;
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], 0)?;
    octal(&mut h[337..345], 0)?;
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    octal(&mut h[148..155], sum)?;
    h[155] = b' ';
    Ok(h)
}

/// Counts what passes, for zip offsets.
#[derive(Debug)]
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A finished zip entry, for the central directory.
#[derive(Debug)]
struct ZipEntry {
    name: String,
    offset: u64,
    crc: u32,
    compressed: u64,
    size: u64,
}

/// The entry being written: its offsets and running checksum.
struct Open {
    name: String,
    offset: u64,
    start: u64,
    crc: crc32fast::Hasher,
    size: u64,
}

/// A `.zip` being written.
pub struct Zip<W: Write> {
    out: Counting<W>,
    entries: Vec<ZipEntry>,
    current: Option<(Open, DeflateEncoder<Vec<u8>>)>,
    mtime: i64,
}

impl<W: Write> std::fmt::Debug for Zip<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zip")
            .field("written", &self.out.count)
            .field("entries", &self.entries)
            .field("open", &self.current.as_ref().map(|(o, _)| o.name.as_str()))
            .finish()
    }
}

/// Go's `archive/zip` values: version 2.0, Unix creator, data descriptor, deflate.
const VERSION: u16 = 20;
const CREATOR: u16 = (3 << 8) | VERSION;
const FLAGS: u16 = 0x8;
const DEFLATE: u16 = 8;
/// A regular file, mode 0755, in the high half of the external attributes.
const EXTERNAL: u32 = (0o100_755) << 16;

impl<W: Write> Zip<W> {
    /// The MS-DOS time and date of the entries (UTC).
    fn dos_time(&self) -> (u16, u16) {
        use chrono::{Datelike, Timelike};
        let t = chrono::DateTime::from_timestamp(self.mtime, 0).unwrap_or_default();
        let date = (((t.year() - 1980).clamp(0, 127) as u16) << 9)
            | ((t.month() as u16) << 5)
            | (t.day() as u16);
        let time =
            ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | ((t.second() / 2) as u16);
        (time, date)
    }

    /// The extended-timestamp extra field (modification time only).
    fn extra(&self) -> Vec<u8> {
        let mut e = Vec::with_capacity(9);
        e.extend(0x5455u16.to_le_bytes());
        e.extend(5u16.to_le_bytes());
        e.push(1);
        e.extend((self.mtime as u32).to_le_bytes());
        e
    }

    fn begin(&mut self, name: &str) -> io::Result<()> {
        let (time, date) = self.dos_time();
        let extra = self.extra();
        let offset = self.out.count;
        let mut h = Vec::with_capacity(30 + name.len() + extra.len());
        h.extend(0x0403_4b50u32.to_le_bytes());
        h.extend(VERSION.to_le_bytes());
        h.extend(FLAGS.to_le_bytes());
        h.extend(DEFLATE.to_le_bytes());
        h.extend(time.to_le_bytes());
        h.extend(date.to_le_bytes());
        h.extend([0u8; 12]); // CRC and sizes follow the data.
        h.extend((name.len() as u16).to_le_bytes());
        h.extend((extra.len() as u16).to_le_bytes());
        h.extend(name.as_bytes());
        h.extend(extra);
        self.out.write_all(&h)?;
        let open = Open {
            name: name.to_string(),
            offset,
            start: self.out.count,
            crc: crc32fast::Hasher::new(),
            size: 0,
        };
        self.current = Some((open, DeflateEncoder::new(Vec::new(), Compression::new(5))));
        Ok(())
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some((open, deflate)) = &mut self.current else {
            return Err(io::Error::other("no zip entry is open"));
        };
        let n = deflate.write(&buf[..buf.len().min(1 << 20)])?;
        open.crc.update(&buf[..n]);
        open.size += n as u64;
        // Move the compressed bytes on as they come, so memory stays bounded.
        let out = deflate.get_mut();
        if out.len() >= 1 << 16 {
            self.out.write_all(out)?;
            out.clear();
        }
        Ok(n)
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf)?;
            buf = &buf[n..];
        }
        Ok(())
    }

    fn end(&mut self) -> io::Result<()> {
        let Some((open, deflate)) = self.current.take() else {
            return Ok(());
        };
        let rest = deflate.finish()?;
        self.out.write_all(&rest)?;
        let compressed = self.out.count - open.start;
        let crc = open.crc.finalize();
        let too_big = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is too large for a zip without zip64 ({what})",
                    open.name
                ),
            )
        };
        let size32 = u32::try_from(open.size).map_err(|_| too_big("size"))?;
        let compressed32 = u32::try_from(compressed).map_err(|_| too_big("compressed size"))?;
        let mut d = Vec::with_capacity(16);
        d.extend(0x0807_4b50u32.to_le_bytes());
        d.extend(crc.to_le_bytes());
        d.extend(compressed32.to_le_bytes());
        d.extend(size32.to_le_bytes());
        self.out.write_all(&d)?;
        self.entries.push(ZipEntry {
            name: open.name,
            offset: open.offset,
            crc,
            compressed,
            size: open.size,
        });
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.end()?;
        let (time, date) = self.dos_time();
        let extra = self.extra();
        let start = self.out.count;
        for e in &self.entries {
            let offset = u32::try_from(e.offset).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "zip offset over 4 GiB")
            })?;
            let mut c = Vec::with_capacity(46 + e.name.len() + extra.len());
            c.extend(0x0201_4b50u32.to_le_bytes());
            c.extend(CREATOR.to_le_bytes());
            c.extend(VERSION.to_le_bytes());
            c.extend(FLAGS.to_le_bytes());
            c.extend(DEFLATE.to_le_bytes());
            c.extend(time.to_le_bytes());
            c.extend(date.to_le_bytes());
            c.extend(e.crc.to_le_bytes());
            c.extend((e.compressed as u32).to_le_bytes());
            c.extend((e.size as u32).to_le_bytes());
            c.extend((e.name.len() as u16).to_le_bytes());
            c.extend((extra.len() as u16).to_le_bytes());
            c.extend(0u16.to_le_bytes()); // comment
            c.extend(0u16.to_le_bytes()); // disk
            c.extend(0u16.to_le_bytes()); // internal attributes
            c.extend(EXTERNAL.to_le_bytes());
            c.extend(offset.to_le_bytes());
            c.extend(e.name.as_bytes());
            c.extend(&extra);
            self.out.write_all(&c)?;
        }
        let size = self.out.count - start;
        let count = self.entries.len() as u16;
        let mut end = Vec::with_capacity(22);
        end.extend(0x0605_4b50u32.to_le_bytes());
        end.extend([0u8; 4]); // this disk, the directory's disk
        end.extend(count.to_le_bytes());
        end.extend(count.to_le_bytes());
        end.extend((size as u32).to_le_bytes());
        end.extend((start as u32).to_le_bytes());
        end.extend(0u16.to_le_bytes());
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out.inner)
    }
}

#[cfg(test)]
mod tests;
