//! The Prometheus text exposition format, version 0.0.4, written by hand:
//! `# HELP` and `# TYPE` once per family, then its samples
//! (`name{label="value"} number`), histograms as cumulative `_bucket{le=...}`
//! samples ending at `+Inf`, then `_sum` and `_count`. Label values escape
//! backslash, double quote and newline; help text escapes backslash and
//! newline.

use std::fmt::{Display, Write};

use super::registry::{HistogramSnapshot, LATENCY_BUCKETS_MICROS};

/// The Content-Type of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One scrape's text, built family by family.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family: its HELP and TYPE lines. Its samples must follow
    /// before the next family starts.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        let _ = writeln!(self.out, " {value}");
    }

    /// A histogram's bucket, sum (seconds) and count samples.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let bounds = LATENCY_BUCKETS_MICROS
            .iter()
            .map(|&micros| seconds(micros))
            .chain(std::iter::once("+Inf".to_owned()));
        for (bound, count) in bounds.zip(&h.cumulative) {
            self.out.push_str(name);
            self.out.push_str("_bucket");
            write_labels(&mut self.out, labels, Some(&bound));
            let _ = writeln!(self.out, " {count}");
        }
        self.sample(&format!("{name}_sum"), labels, seconds(h.sum_micros));
        self.sample(&format!("{name}_count"), labels, h.count);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Microseconds as a decimal number of seconds, exactly.
fn seconds(micros: u64) -> String {
    let whole = micros / 1_000_000;
    let frac = micros % 1_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
    for (i, (key, value)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    out.push('}');
}

fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escaping() {
        let mut e = Exposition::default();
        e.family("sluice_x_total", Kind::Counter, "A \\ help\nline");
        e.sample("sluice_x_total", &[("topic", "a\"b\\c\nd")], 7);
        e.sample("sluice_y", &[], 1);
        let text = e.finish();
        assert_eq!(
            text,
            "# HELP sluice_x_total A \\\\ help\\nline\n# TYPE sluice_x_total counter\n\
             sluice_x_total{topic=\"a\\\"b\\\\c\\nd\"} 7\nsluice_y 1\n"
        );
    }

    #[test]
    fn histogram_lines() {
        let mut e = Exposition::default();
        let mut cumulative = vec![0; LATENCY_BUCKETS_MICROS.len() + 1];
        cumulative[3..].iter_mut().for_each(|c| *c = 2);
        let h = HistogramSnapshot {
            cumulative,
            sum_micros: 2_500,
            count: 2,
        };
        e.histogram("sluice_h_seconds", &[("api", "Fetch")], &h);
        let text = e.finish();
        assert!(text.contains("sluice_h_seconds_bucket{api=\"Fetch\",le=\"0.00025\"} 0\n"));
        assert!(text.contains("sluice_h_seconds_bucket{api=\"Fetch\",le=\"0.0025\"} 2\n"));
        assert!(text.contains("sluice_h_seconds_bucket{api=\"Fetch\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("sluice_h_seconds_sum{api=\"Fetch\"} 0.0025\n"));
        assert!(text.contains("sluice_h_seconds_count{api=\"Fetch\"} 2\n"));
        assert_eq!(seconds(30_000_000), "30");
        assert_eq!(seconds(1_000_001), "1.000001");
    }
}
