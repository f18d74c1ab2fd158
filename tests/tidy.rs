//! Tidiness rules that keep the code a newcomer can live in, checked on the
//! source text (no broker, no ZooKeeper):
//!
//! - the dependency rules between rooms from ARCHITECTURE.md: which top-level
//!   modules each room may name through `crate::` (and `main.rs` through
//!   `sluice::`), with `replica` reaching `zk` only from `isr.rs` and
//!   `admin` reaching `log` only from `dynamic_config.rs`, and
//!   `tools` reaching `group` only through `group::consumer_protocol`;
//! - Kafka error codes are chosen only in `server/`: `ResponseError::` is
//!   named nowhere else but where Kafka answers are read (the tools, the
//!   replica fetcher);
//! - no import cycle between the files of a room (a folder inside it counts as
//!   one file), but in the rooms of [`ROOMS_WITH_CYCLES`];
//! - every source file opens with a `//!` doc comment saying what it owns;
//! - no source file over 800 lines;
//! - `unsafe_code` (denied in Cargo.toml) is allowed only on items in the
//!   files of [`UNSAFE_CODE_FILES`], never module- or crate-wide, and every
//!   such allow says why in a comment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file allowed (DESIGN.md: "no file over ~800 lines").
const MAX_FILE_LINES: usize = 800;

/// Rooms that depend on nothing internal may be used by every room.
const LEAF_ROOMS: &[&str] = &["model", "util", "assignment", "malloc_tuning"];

/// Which rooms each room may use, besides itself and [`LEAF_ROOMS`]: the
/// table in ARCHITECTURE.md. `None` means any room except `broker`.
fn allowed_rooms(room: &str) -> Option<&'static [&'static str]> {
    Some(match room {
        "model" | "util" | "assignment" | "malloc_tuning" | "huge_alloc" | "protocol"
        | "metrics" | "security" => &[],
        // The JAAS text of a `*.sasl.jaas.config` key is parsed at load, so a
        // bad one fails start-up as a ConfigError naming the key.
        "config" => &["security"],
        "log" | "zk" | "metadata" => &[],
        "client" => &["protocol", "metadata"],
        "replica" => &["log", "metadata", "client", "zk", "metrics"],
        "controller" => &["zk", "client", "metadata", "metrics"],
        "group" => &["zk", "metadata", "metrics"],
        "tools" => &["client", "protocol", "group"],
        "console" => &["metadata", "zk", "client", "metrics", "group", "protocol"],
        "main" => &["broker", "config", "huge_alloc", "tools"],
        "admin" => &["zk", "config", "metadata", "controller", "replica"],
        // `zk` and `log` are still named by some handlers (to move behind
        // domain calls); never `broker`, `tools` or `protocol`.
        "server" => &[
            "admin",
            "replica",
            "group",
            "controller",
            "metadata",
            "config",
            "metrics",
            "security",
            "zk",
            "log",
        ],
        "broker" => return None,
        other => panic!(
            "room `{other}` is not in tests/tidy.rs's table: add it here and to ARCHITECTURE.md"
        ),
    })
}

/// Files of a room allowed one more room (the exception the table names).
fn file_exceptions(room: &str, file: &Path) -> &'static [&'static str] {
    match (room, file.file_name().and_then(|f| f.to_str())) {
        ("replica", Some("isr.rs")) => &["zk"],
        // Topic overrides become the partition logs' `LogConfig`.
        ("admin", Some("dynamic_config.rs")) => &["log"],
        _ => &[],
    }
}

/// Rooms a room may reach only through some of their modules:
/// (room, used room, the used room's modules it may name).
const NARROW_USES: &[(&str, &str, &[&str])] = &[
    ("tools", "group", &["consumer_protocol"]),
    ("console", "group", &["consumer_protocol"]),
];

/// Rooms whose files may still import each other in a cycle (every other
/// room under `src/` may not). A room's `mod.rs` is its root and does not
/// count; a `super::Item` that `mod.rs` re-exports counts as a use of the
/// file the item comes from. Empty is the goal.
const ROOMS_WITH_CYCLES: &[&str] = &[];

/// Every room: a folder directly under `src/`.
fn rooms() -> Vec<String> {
    let mut rooms: Vec<String> = std::fs::read_dir(src_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    rooms.sort();
    rooms
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The room a source file belongs to: its top-level module (`src/log/x.rs`
/// and `src/log.rs` are both `log`; `src/broker/x.rs` is `broker`).
fn room_of(file: &Path) -> String {
    let relative = file.strip_prefix(src_dir()).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    let first = first.to_str().unwrap();
    first.strip_suffix(".rs").unwrap_or(first).to_owned()
}

/// The code of a file without comments (so a doc comment naming
/// `crate::zk` doesn't count as a use). String literals are kept: the
/// source has no `crate::` inside strings worth special-casing.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every top-level module named after `prefix::` (e.g. `crate::`), including
/// the groups of `use crate::{a::X, b}`.
fn rooms_named(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut rooms = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices(prefix) {
        // Not the tail of a longer path such as `foo_crate::`.
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: split at depth-0 commas.
            let mut depth = 0usize;
            let mut start = 0usize;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rooms.insert(ident(group[start..j].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        rooms.insert(ident(group[start..j].trim()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            rooms.insert(ident(rest));
        }
    }
    rooms.remove("");
    rooms.remove("self");
    rooms
}

#[test]
fn rooms_use_only_what_architecture_md_allows() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let room = room_of(file);
        if room == "lib" {
            continue;
        }
        let code = without_comments(&std::fs::read_to_string(file).unwrap());
        let prefix = if room == "main" {
            "sluice::"
        } else {
            "crate::"
        };
        let Some(allowed) = allowed_rooms(&room) else {
            // broker builds everything.
            continue;
        };
        for used in rooms_named(&code, prefix) {
            let ok = used == room
                || LEAF_ROOMS.contains(&used.as_str())
                || allowed.contains(&used.as_str())
                || file_exceptions(&room, file).contains(&used.as_str());
            if !ok {
                broken
                    .entry(room.clone())
                    .or_default()
                    .push(format!("{}: uses {used}", file.display()));
            }
        }
        for (_, used, modules) in NARROW_USES.iter().filter(|(r, _, _)| *r == room) {
            for module in rooms_named(&code, &format!("{prefix}{used}::")) {
                if !modules.contains(&module.as_str()) {
                    broken
                        .entry(room.clone())
                        .or_default()
                        .push(format!("{}: uses {used}::{module}", file.display()));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "dependency rules broken (see the room table in ARCHITECTURE.md):\n{broken:#?}"
    );
}

/// Where `ResponseError::` may be named outside `server/`: code that reads
/// the error codes of Kafka answers it received (rooms, or single files as
/// `room/file.rs`). Domain rooms report domain errors; `server/errors.rs`
/// picks the codes.
const READS_KAFKA_ANSWERS: &[&str] = &[
    "tools",
    "client",
    "replica/fetcher.rs",
    // Names the codes of answers for people (the tools and the console).
    "protocol/error_name.rs",
    // The console's write actions read the answers of the calls they make.
    "console/admin_calls.rs",
];

#[test]
fn kafka_error_codes_are_chosen_only_in_server() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut broken = Vec::new();
    for file in &files {
        let room = room_of(file);
        let relative = file.strip_prefix(src_dir()).unwrap();
        let relative = relative.to_str().unwrap().replace('\\', "/");
        if room == "server"
            || READS_KAFKA_ANSWERS
                .iter()
                .any(|allowed| *allowed == room || *allowed == relative)
        {
            continue;
        }
        let code = without_comments(&std::fs::read_to_string(file).unwrap());
        if code.contains("ResponseError::") {
            broken.push(relative);
        }
    }
    assert!(
        broken.is_empty(),
        "Kafka error codes chosen outside server/ (return a domain error and map it in \
         server/errors.rs):\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_rule_checker_sees_grouped_and_plain_paths() {
    let code = "use crate::{log::{Log, LogError}, model::Offset};\n\
                fn f() { crate::zk::paths::x(); my_crate::nope(); }";
    let rooms: Vec<String> = rooms_named(code, "crate::").into_iter().collect();
    assert_eq!(rooms, ["log", "model", "zk"]);
    assert_eq!(
        without_comments("let a = 1; // crate::zk\n//! crate::log"),
        "let a = 1; \n"
    );
}

/// The code of a file before its first top-level `#[cfg(test)]` item.
fn without_tests(code: &str) -> &str {
    match code.find("\n#[cfg(test)]") {
        Some(i) => &code[..i],
        None => code,
    }
}

/// Which sibling files each file of `room` uses (`super::x`, `crate::room::x`).
fn file_graph(room: &str) -> BTreeMap<String, BTreeSet<String>> {
    let dir = src_dir().join(room);
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let module_of = |f: &PathBuf| f.file_stem().unwrap().to_str().unwrap().to_owned();
    let mut modules: BTreeSet<String> = files
        .iter()
        .filter(|f| f.parent() == Some(dir.as_path()))
        .map(module_of)
        .filter(|m| m != "mod" && m != "tests" && !m.ends_with("_tests"))
        .collect();
    // A folder inside the room (`server/handlers/`) is one node: the uses
    // of all its files together.
    let folders: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&dir).ok()?.components().next())
        .map(|c| c.as_os_str().to_str().unwrap().to_owned())
        .filter(|c| dir.join(c).is_dir())
        .collect();
    modules.extend(folders.iter().cloned());
    // Items `mod.rs` takes from its files (`use x::{A, B}`, `pub use x::C`).
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    let root = without_comments(&std::fs::read_to_string(dir.join("mod.rs")).unwrap_or_default());
    for (i, _) in root.match_indices("use ") {
        let line_start = root[..i].rfind('\n').map_or(0, |j| j + 1);
        let head = root[line_start..i].trim();
        if !(head.is_empty() || head.starts_with("pub")) {
            continue;
        }
        let path = &root[i + "use ".len()..];
        let path = &path[..path.find(';').unwrap_or(path.len())];
        let idents: Vec<&str> = path
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        if let Some((first, items)) = idents.split_first()
            && modules.contains(*first)
        {
            for item in items {
                reexported.insert((*item).to_owned(), (*first).to_owned());
            }
        }
    }
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut used: BTreeSet<String> = BTreeSet::new();
        if folders.contains(module) {
            // `super::` inside a folder names the folder's own files.
            for file in files.iter().filter(|f| f.starts_with(dir.join(module))) {
                let text = std::fs::read_to_string(file).unwrap();
                let code = without_comments(&text);
                used.extend(rooms_named(
                    without_tests(&code),
                    &format!("crate::{room}::"),
                ));
            }
        } else {
            let text = std::fs::read_to_string(dir.join(format!("{module}.rs"))).unwrap();
            let code = without_comments(&text);
            let code = without_tests(&code);
            used.extend(rooms_named(code, "super::"));
            used.extend(rooms_named(code, &format!("crate::{room}::")));
        }
        let used = used
            .into_iter()
            .filter_map(|name| {
                if modules.contains(&name) {
                    Some(name)
                } else {
                    reexported.get(&name).cloned()
                }
            })
            .filter(|m| m != module)
            .collect();
        graph.insert(module.clone(), used);
    }
    graph
}

/// One cycle of `graph` (its nodes in order), if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            return Some(path[i..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn files_of_a_room_import_each_other_without_cycles() {
    let rooms = rooms();
    assert!(rooms.len() >= 10, "rooms under src/: {rooms:?}");
    for room in ROOMS_WITH_CYCLES {
        assert!(rooms.iter().any(|r| r == room), "no room `{room}`");
    }
    let cycles: Vec<String> = rooms
        .iter()
        .filter(|room| !ROOMS_WITH_CYCLES.contains(&room.as_str()))
        .filter_map(|room| {
            // A room of one file (`mod.rs` only) has an empty graph.
            find_cycle(&file_graph(room)).map(|cycle| format!("{room}: {}", cycle.join(" -> ")))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "import cycles between files of a room (move the shared type to the file both use):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_cycle_finder_finds_cycles_and_only_cycles() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry((*a).to_owned())
                .or_default()
                .insert((*b).to_owned());
            g.entry((*b).to_owned()).or_default();
        }
        g
    };
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "b")])),
        Some(vec!["b".to_owned(), "c".to_owned()])
    );
    assert_eq!(
        without_tests("fn a() {}\n#[cfg(test)]\nmod tests {}"),
        "fn a() {}"
    );
}

#[test]
fn every_source_file_opens_with_a_module_doc_comment() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    rust_files(&tests_dir, &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` doc comment saying what they own:\n{}",
        missing.join("\n")
    );
}

#[test]
fn no_source_file_is_longer_than_800_lines() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these files (one concept per file):\n{}",
        long.join("\n")
    );
}

/// The only files where an item may carry `#[allow(unsafe_code)]` (the lint
/// is denied in Cargo.toml's `[lints.rust]`). A new unsafe item needs a
/// conscious edit here, and a comment on its allow saying why.
const UNSAFE_CODE_FILES: &[&str] = &[
    "src/log/manager.rs",                              // statvfs
    "src/log/index_file.rs",                           // mmap of index files
    "src/server/response_frame.rs",                    // BufMut for ChunkedBuf
    "src/server/sendfile.rs",                          // sendfile(2)
    "src/client/liveness.rs",                          // setsockopt
    "src/huge_alloc.rs",                               // the global allocator
    "src/malloc_tuning.rs",                            // mallopt, malloc_trim
    "benches/throughput/cluster.rs",                   // kill
    "benches/throughput/cost.rs",                      // sysconf
    "benches/restart_scale.rs",                        // kill
    "tests/common/process.rs",                         // pre_exec, kill
    "tests/common/zookeeper.rs",                       // atexit, kill
    "tests/docker_files.rs",                           // kill
    "tests/durability.rs",                             // kill
    "tests/replica_safety/blocking_leader_and_isr.rs", // mkfifo
    "tests/startup_config.rs",                         // kill
];

/// Every line of `text` (1-based number, code without its comment, the whole
/// line) that allows `unsafe_code`.
fn unsafe_code_allows(text: &str) -> Vec<(usize, String, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = line.find("//").map_or(line, |j| &line[..j]);
            let allows = (code.contains("allow(") || code.contains("expect("))
                && code.contains("unsafe_code");
            allows.then(|| (i + 1, code.trim().to_owned(), line.to_owned()))
        })
        .collect()
}

#[test]
fn unsafe_code_is_allowed_only_on_items_of_listed_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    let this_file = root.join("tests/tidy.rs");
    let mut broken = Vec::new();
    let mut used = BTreeSet::new();
    for file in files.iter().filter(|f| **f != this_file) {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (number, code, line) in unsafe_code_allows(&text) {
            let at = format!("{relative}:{number}");
            if !UNSAFE_CODE_FILES.contains(&relative.as_str()) {
                broken.push(format!("{at}: not in UNSAFE_CODE_FILES (tests/tidy.rs)"));
            }
            if code.starts_with("#!") {
                broken.push(format!(
                    "{at}: module-wide; allow it on the one item instead"
                ));
            }
            let commented = line.contains("//")
                || number >= 2 && lines[number - 2].trim_start().starts_with("//");
            if !commented {
                broken.push(format!("{at}: say in a comment why this item needs unsafe"));
            }
            used.insert(relative.clone());
        }
    }
    for listed in UNSAFE_CODE_FILES {
        if !used.contains(*listed) {
            broken.push(format!(
                "{listed}: listed in UNSAFE_CODE_FILES but allows no unsafe code: drop it from the list"
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "unsafe code outside its narrow, commented allows:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_unsafe_allow_finder_sees_attributes_and_skips_comments() {
    let text = "#[allow(unsafe_code)] // why\nfn a() {}\n// #[allow(unsafe_code)]\n#![allow(dead_code, unsafe_code)]";
    let found: Vec<usize> = unsafe_code_allows(text)
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(found, [1, 4]);
}
