//! Column alignment as Go's `text/tabwriter` does it, so that text output lines up exactly like
//! `oc`'s.
//!
//! Text is split into lines and tab-terminated cells. A column is aligned over each block of
//! consecutive lines that have a cell in it; the text after a line's last tab is not part of any
//! column. Each cell is padded with spaces to the widest cell of its block plus `padding`
//! (`minwidth` 0, left-aligned, no flags — the settings `oc` uses).

/// A buffer that aligns tab-separated text when finished. See the [module docs](self).
#[derive(Debug, Clone)]
pub(crate) struct TabWriter {
    padding: usize,
    text: String,
}

impl TabWriter {
    /// A writer with `padding` spaces between columns.
    pub(crate) fn new(padding: usize) -> TabWriter {
        TabWriter {
            padding,
            text: String::new(),
        }
    }

    /// Appends text.
    pub(crate) fn write(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// The aligned text.
    pub(crate) fn finish(self) -> String {
        // A trailing newline leaves an empty last line, which prints as nothing: the same as
        // Go's unterminated last line.
        let lines: Vec<Vec<&str>> = self
            .text
            .split('\n')
            .map(|l| l.split('\t').collect())
            .collect();
        let mut out = String::with_capacity(self.text.len() * 2);
        format(
            &mut out,
            &lines,
            &mut Vec::new(),
            0,
            lines.len(),
            self.padding,
        );
        out
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Go's `(*Writer).format`: aligns column `widths.len()` over each block of `lines[line0..line1]`
/// that has a cell in it (a cell followed by a tab), recursing into the columns to its right.
fn format(
    out: &mut String,
    lines: &[Vec<&str>],
    widths: &mut Vec<usize>,
    mut line0: usize,
    line1: usize,
    padding: usize,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(out, lines, widths, line0, this);
        line0 = this;
        let mut w = 0;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + padding);
            this += 1;
        }
        widths.push(w);
        format(out, lines, widths, line0, this, padding);
        widths.pop();
        line0 = this;
    }
    write_lines(out, lines, widths, line0, line1);
}

fn write_lines(out: &mut String, lines: &[Vec<&str>], widths: &[usize], from: usize, to: usize) {
    for (i, cells) in lines.iter().enumerate().take(to).skip(from) {
        for (j, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < cells.len()
                && let Some(w) = widths.get(j)
            {
                for _ in width(cell)..*w {
                    out.push(' ');
                }
            }
        }
        if i + 1 != lines.len() {
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn align(padding: usize, text: &str) -> String {
        let mut w = TabWriter::new(padding);
        w.write(text);
        w.finish()
    }

    #[test]
    fn aligns_blocks_separately() {
        assert_eq!(
            align(
                1,
                "Name:\t4.12.23\nDigest:\tsha256:23\nOS/Arch:\tlinux/amd64\nMetadata files:\t1\n\nPull From:\tquay\n"
            ),
            "Name:           4.12.23\nDigest:         sha256:23\nOS/Arch:        linux/amd64\nMetadata files: 1\n\nPull From: quay\n"
        );
    }

    #[test]
    fn nested_columns() {
        assert_eq!(
            align(2, "\tFROM\tTO\nName:\ta\tbbbb\nCreated:\t1d\t2d\n"),
            "          FROM  TO\nName:     a     bbbb\nCreated:  1d    2d\n"
        );
    }

    #[test]
    fn trailing_cells_do_not_align() {
        assert_eq!(
            align(1, "  a\tx\n  bbb\ty\tlong\n  c\n  dd\tz\n"),
            "  a   x\n  bbb y long\n  c\n  dd z\n"
        );
    }
}
