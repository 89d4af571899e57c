use super::*;
use std::io::Read;

fn member() -> Member<'static> {
    Member {
        name: "oc",
        size: 5,
        mtime: 1_748_800_000,
        links: &["kubectl"],
    }
}

fn tar_of(readme: &str, data: &[u8]) -> Vec<u8> {
    let mut p = Packer::tar_gz(Vec::new(), readme, &member()).unwrap();
    p.write_all(data).unwrap();
    let gz = p.finish().unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut tar)
        .unwrap();
    tar
}

#[test]
fn tar_headers_are_go_s_ustar() {
    let tar = tar_of("hi\n", b"12345");
    // README.md header, its data block, the binary's header, its data, the link, two end blocks.
    assert_eq!(tar.len(), 512 * 7);
    let bin = &tar[1024..1536];
    assert_eq!(&bin[..3], b"oc\0");
    assert_eq!(&bin[100..108], b"0000755\0");
    assert_eq!(&bin[108..124], b"0000000\x000000000\0");
    assert_eq!(&bin[124..136], b"00000000005\0");
    assert_eq!(
        &bin[136..148],
        format!("{:011o}\0", 1_748_800_000).as_bytes()
    );
    assert_eq!(bin[156], b'0');
    assert_eq!(&bin[257..265], b"ustar\x0000");
    assert_eq!(&bin[265..329], &[0u8; 64][..]);
    assert_eq!(&bin[329..345], b"0000000\x000000000\0");
    let sum: u32 = bin
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    assert_eq!(&bin[148..156], format!("{sum:06o}\0 ").as_bytes());
    assert_eq!(&tar[1536..1541], b"12345");
    let link = &tar[2048..2560];
    assert_eq!(&link[..8], b"kubectl\0");
    assert_eq!(link[156], b'1');
    assert_eq!(&link[157..160], b"oc\0");
    assert_eq!(&link[124..136], b"00000000000\0");
    assert_eq!(&tar[2560..], &[0u8; 1024][..]);
    let readme = &tar[..512];
    assert_eq!(&readme[100..108], b"0000644\0");
}

#[test]
fn a_short_binary_is_refused() {
    let mut p = Packer::tar_gz(Vec::new(), "", &member()).unwrap();
    p.write_all(b"123").unwrap();
    assert!(
        p.finish()
            .unwrap_err()
            .to_string()
            .contains("announced 5 bytes")
    );
}

#[test]
fn zip_is_read_back_by_python_zipfile() {
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let m = Member {
        name: "oc.exe",
        size: data.len() as u64,
        mtime: 1_748_800_000,
        links: &[],
    };
    let mut p = Packer::zip(Vec::new(), "line one\nline two\n", &m).unwrap();
    p.write_all(&data).unwrap();
    let zip = p.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    std::fs::write(&path, &zip).unwrap();
    std::fs::write(dir.path().join("oc.exe"), &data).unwrap();
    let script = r#"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = [i.filename for i in z.infolist()]
assert names == ["README.md", "oc.exe"], names
assert z.read("README.md") == b"line one\r\nline two\r\n"
assert z.read("oc.exe") == open(sys.argv[2], "rb").read()
for i in z.infolist():
    assert i.external_attr >> 16 == 0o100755, oct(i.external_attr)
    assert i.create_system == 3
    assert i.date_time == (2025, 6, 1, 17, 46, 40), i.date_time
print("ok")
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg(dir.path().join("oc.exe"))
        .output()
        .expect("python3 is needed to check zip archives");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
