//! The enumerated settings (`compression.type`, `log.message.timestamp.type`,
//! `log.cleanup.policy`): their values spelled exactly as Kafka spells them
//! and matched case-sensitively, as Kafka's `ValidString`/`ValidList` do.

use std::fmt;

/// An enumerated setting the typed reader can parse by name.
pub(super) trait Named: Copy + Sized + 'static {
    /// Every value, in Kafka's documentation order.
    const ALL: &'static [Self];
    /// Kafka's spelling.
    fn name(self) -> &'static str;
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $ty:ident { $($(#[$vmeta:meta])* $variant:ident => $name:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($(#[$vmeta])* $variant,)+
        }

        impl $ty {
            /// Kafka's spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }

        impl Named for $ty {
            const ALL: &'static [Self] = &[$(Self::$variant,)+];
            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// `compression.type`: what the broker stores; `producer` keeps the
    /// producer's codec (Kafka's default).
    CompressionType {
        Uncompressed => "uncompressed",
        Zstd => "zstd",
        Lz4 => "lz4",
        Snappy => "snappy",
        Gzip => "gzip",
        Producer => "producer",
    }
}

named_enum! {
    /// `log.message.timestamp.type`: whether record timestamps are the
    /// producer's or the broker's append time.
    TimestampType {
        CreateTime => "CreateTime",
        LogAppendTime => "LogAppendTime",
    }
}

named_enum! {
    /// One entry of `log.cleanup.policy`; the setting is a list, so a log may
    /// be both compacted and deleted.
    CleanupPolicy {
        Compact => "compact",
        Delete => "delete",
    }
}

impl CleanupPolicy {
    /// The comma-joined form Kafka reports, e.g. `compact,delete`.
    pub fn join(policies: &[CleanupPolicy]) -> String {
        policies
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}
