use super::*;

/// The bytes oc's rule gives, computed from the placeholder's position: the value from the
/// placeholder's first byte, one NUL, the rest of the placeholder untouched.
fn expected(input: &[u8], at: usize, value: &str) -> Vec<u8> {
    let mut out = input.to_vec();
    out[at..at + value.len()].copy_from_slice(value.as_bytes());
    out[at + value.len()] = 0;
    out
}

/// Hands out at most `n` bytes per read.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(self.1).min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn placeholders_are_oc_s() {
    let image = Marker::ReleaseImage.placeholder();
    assert_eq!(image.len(), 1 + 24 + 1 + 300 + 1);
    assert!(image.starts_with(b"\0_RELEASE_IMAGE_LOCATION_\0XXX"));
    assert!(image.ends_with(b"XXX\0"));
    assert_eq!(
        Marker::ReleaseVersion.placeholder().len(),
        1 + 26 + 1 + 64 + 1
    );
    assert_eq!(
        Marker::ReleaseArchitecture.placeholder().len(),
        1 + 31 + 1 + 64 + 1
    );
    assert_eq!(Marker::ReleaseImage.max_value_len(), 326);
}

#[test]
fn a_placeholder_across_two_reads_is_found() {
    let p = Marker::ReleaseImage.placeholder();
    for at in [
        0,
        CHUNK - 100,
        CHUNK - 1,
        CHUNK,
        CHUNK + p.len() - 2,
        3 * CHUNK - 7,
    ] {
        let mut input = vec![0xAAu8; 4 * CHUNK];
        input[at..at + p.len()].copy_from_slice(&p);
        let value = "registry.example/okd/release@sha256:0123";
        let mut out = Vec::new();
        let done = copy_and_replace(
            &input[..],
            &mut out,
            &[Replacement::new(Marker::ReleaseImage, value)],
        )
        .unwrap();
        assert!(done.missing.is_empty(), "at {at}");
        assert_eq!(done.bytes, input.len() as u64);
        assert_eq!(out, expected(&input, at, value), "at {at}");
    }
}

#[test]
fn only_the_first_occurrence_is_replaced_whatever_the_reads() {
    let p = Marker::ReleaseVersion.placeholder();
    let mut input = b"head".to_vec();
    input.extend(&p);
    input.extend(b"middle");
    input.extend(&p);
    let want = expected(&input, 4, "4.19.0-okd-scos.1");
    for step in [1, 7, 93, 4096] {
        let mut out = Vec::new();
        copy_and_replace(
            Trickle(&input, step),
            &mut out,
            &[Replacement::new(
                Marker::ReleaseVersion,
                "4.19.0-okd-scos.1",
            )],
        )
        .unwrap();
        assert_eq!(out, want, "reads of {step}");
        assert!(out.ends_with(&p), "the second placeholder stays");
    }
}

#[test]
fn missing_markers_are_named_in_oc_s_warning() {
    let mut input = vec![1u8; 1000];
    input.extend(Marker::ReleaseImage.placeholder());
    let mut out = Vec::new();
    let done = copy_and_replace(
        &input[..],
        &mut out,
        &[
            Replacement::new(Marker::ReleaseImage, "a"),
            Replacement::new(Marker::ReleaseVersion, "b"),
            Replacement::new(Marker::ReleaseArchitecture, "c"),
        ],
    )
    .unwrap();
    assert_eq!(
        done.missing,
        [Marker::ReleaseArchitecture, Marker::ReleaseVersion]
    );
    assert_eq!(
        done.warning("openshift-install").unwrap(),
        "warning: Unable to make all expected replacements in openshift-install.  Remaining: release architecture, release version"
    );
    assert_eq!(out, expected(&input, 1000, "a"));
}

#[test]
fn a_value_that_does_not_fit_is_refused() {
    let long = "x".repeat(Marker::ReleaseVersion.max_value_len() + 1);
    let err = copy_and_replace(
        &b""[..],
        Vec::new(),
        &[Replacement::new(Marker::ReleaseVersion, long)],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the release version value has 93 bytes, but the maximum replacement length is 92"
    );
    let fits = "x".repeat(Marker::ReleaseVersion.max_value_len());
    let p = Marker::ReleaseVersion.placeholder();
    let mut out = Vec::new();
    copy_and_replace(
        &p[..],
        &mut out,
        &[Replacement::new(Marker::ReleaseVersion, fits.clone())],
    )
    .unwrap();
    assert_eq!(out, expected(&p, 0, &fits));
}

#[test]
fn no_replacement_copies_verbatim() {
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::new();
    let done = copy_and_replace(&input[..], &mut out, &[]).unwrap();
    assert_eq!(out, input);
    assert_eq!(done.bytes, 200_000);
}
