//! The crate's layers point down only (lib.rs, "Layout"): data types, the
//! request vocabulary, the codec, then the two roles. This test reads every
//! `crate::` path in `src/` and fails on an import that points up, on one
//! role importing the other, and on any import circle between modules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The layer of each top-level module of `src/`.
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "candidate" | "node_id" | "address_policy" | "nat" | "advert" => 0,
        "n" | "share" | "key" | "known" | "filter" | "option" | "set" | "admission"
        | "config_error" => 1,
        "wire" => 2,
        "peer" | "node" => 3,
        "error" | "lib" => 4,
        _ => return None,
    })
}

/// Top-level module of a file under `src/`: `peer/table.rs` → `peer`.
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// Every `crate::name` the file's code refers to (comments skipped).
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                refs.insert(name);
            }
            rest = after;
        }
        // `use crate::{a, b::C}` lists.
        if let Some(at) = code.find("crate::{") {
            let list = &code[at + "crate::{".len()..];
            for item in list.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    refs.insert(name);
                }
            }
        }
    }
    refs
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module → the modules it refers to.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    files(&src, &mut paths);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        let rel = path.strip_prefix(&src).unwrap();
        let from = module_of(rel);
        let text = fs::read_to_string(&path).unwrap();
        let refs = g.entry(from.clone()).or_default();
        for to in crate_refs(&text) {
            if to != from && layer(&to).is_some() {
                refs.insert(to);
            }
        }
    }
    g
}

#[test]
fn every_module_has_a_layer() {
    for module in graph().keys() {
        assert!(
            layer(module).is_some(),
            "src/{module} has no layer in tests/layers.rs"
        );
    }
}

#[test]
fn imports_point_down_only() {
    let mut up = Vec::new();
    for (from, tos) in graph() {
        for to in tos {
            let (lf, lt) = (layer(&from).unwrap(), layer(&to).unwrap());
            let roles = lf == 3 && lt == 3;
            if lt > lf || roles {
                up.push(format!("{from} (layer {lf}) -> {to} (layer {lt})"));
            }
        }
    }
    assert!(
        up.is_empty(),
        "imports that point up or across roles: {up:#?}"
    );
}

#[test]
fn the_codec_imports_only_data_types_and_vocabulary() {
    let g = graph();
    let wire = &g["wire"];
    for to in wire {
        assert!(layer(to).unwrap() <= 1, "src/wire imports {to}");
    }
}

#[test]
fn no_import_circles() {
    let g = graph();
    // Depth-first search with colours: 1 = on the stack, 2 = done.
    fn visit(
        m: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        colour.insert(m.to_owned(), 1);
        stack.push(m.to_owned());
        for to in g.get(m).into_iter().flatten() {
            match colour.get(to.as_str()).copied() {
                Some(1) => {
                    let at = stack.iter().position(|s| s == to).unwrap();
                    let mut circle = stack[at..].to_vec();
                    circle.push(to.clone());
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(to, g, colour, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        colour.insert(m.to_owned(), 2);
        None
    }
    let mut colour = BTreeMap::new();
    for m in g.keys() {
        if !colour.contains_key(m) {
            let found = visit(m, &g, &mut colour, &mut Vec::new());
            assert!(
                found.is_none(),
                "import circle: {}",
                found.unwrap().join(" -> ")
            );
        }
    }
}

#[test]
fn the_reader_sees_the_imports() {
    // The test above is only as good as its reading: check it on a sample.
    let refs = crate_refs(
        "use crate::candidate::Candidate;\nuse crate::{n::N, set::CandidateSet};\n// crate::peer in a comment\nlet x = crate::wire::encode_option;",
    );
    let want: BTreeSet<String> = ["candidate", "n", "set", "wire"].map(String::from).into();
    assert_eq!(refs, want);
}
