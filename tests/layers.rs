//! The crate's layout stays true as it grows: every folder under `src/` is
//! a chapter of `lib.rs`, each chapter may name only the chapters below it,
//! and no modules import each other in a circle.
//!
//! Read from the code's own `crate::` and `super::` paths (in `use` lines,
//! in expressions and in doc links alike), so a new file or a new import
//! is checked without anyone listing it here. Unit tests (`#[cfg(test)]`
//! and what follows it) are left out: a test may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The chapters, lowest first. A chapter may use itself and those before it.
const CHAPTERS: &[&str] = &["domain", "wire", "store", "deadline", "report", "access", "ops", "api", "cli"];

/// A module path, e.g. `["store", "writer"]`.
type Module = Vec<String>;

/// Every module of a source tree, with its file's text (tests cut off).
fn modules(src: &Path) -> BTreeMap<Module, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a readable source tree") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(src).expect("inside the tree").with_extension("");
            let mut module: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("a readable file");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
            (module, code)
        })
        .collect()
}

/// The path that starts `rest`: names and `::`, up to anything else.
fn path_at(rest: &str) -> &str {
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
    rest[..end].trim_end_matches(':')
}

/// The module paths a file names: `crate::a::b` and `super::a` (resolved
/// against `from`), and the items of `use crate::{a, b::c}`.
fn named_paths(from: &Module, code: &str) -> Vec<Module> {
    let mut out = Vec::new();
    let ident = |s: &str| -> Vec<String> {
        s.split("::")
            .map_while(|part| {
                let p: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                (!p.is_empty() && p.len() == part.len() && p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_'))
                    .then_some(p)
            })
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        if code[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue; // another name that ends in `crate`
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = &group[..group.find('}').unwrap_or(group.len())];
            for item in body.split(',') {
                out.push(ident(path_at(item.trim())));
            }
        } else {
            out.push(ident(path_at(rest)));
        }
    }
    for (i, _) in code.match_indices("super::") {
        if code[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue; // `super::super::` is read from its first `super`
        }
        // `super` is the parent of the module, whether it is a file
        // (`x/y.rs` is `x::y`) or a folder (`x/mod.rs` is `x`).
        let mut path = from.clone();
        let mut rest = &code[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            path.pop();
            rest = r;
        }
        path.extend(ident(path_at(rest)));
        out.push(path);
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The longest module that `path` starts with.
fn resolve<'m>(path: &[String], known: &'m BTreeMap<Module, String>) -> Option<&'m Module> {
    (1..=path.len()).rev().find_map(|n| known.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Who names whom, between modules; a module naming its own ancestor (the
/// folder's `mod.rs`) is not an edge.
fn graph(known: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, code) in known {
        let targets = edges.entry(module.clone()).or_default();
        for path in named_paths(module, code) {
            if let Some(target) = resolve(&path, known)
                && target != module
                && !module.starts_with(target)
            {
                targets.insert(target.clone());
            }
        }
    }
    edges
}

fn chapter_rank(module: &Module) -> Option<usize> {
    CHAPTERS.iter().position(|c| module.first().is_some_and(|m| m == c))
}

/// Every way the tree breaks the layering, in words.
fn violations(src: &Path) -> Vec<String> {
    let known = modules(src);
    let folders: BTreeSet<Module> = known.keys().filter(|m| src.join(m.join("/")).is_dir()).cloned().collect();
    let edges = graph(&known);
    let mut found = Vec::new();
    let name = |m: &Module| if m.is_empty() { "crate".to_owned() } else { m.join("::") };

    for module in known.keys() {
        if module.len() == 1 && !folders.contains(module) {
            found.push(format!("src/{}.rs lies directly in src/: put it in the folder of its chapter", module[0]));
        }
        if !module.is_empty() && chapter_rank(module).is_none() {
            found.push(format!("{} is in no chapter of {CHAPTERS:?}", name(module)));
        }
    }
    for (from, targets) in &edges {
        let Some(low) = chapter_rank(from) else { continue };
        for to in targets {
            if let Some(high) = chapter_rank(to)
                && high > low
            {
                found.push(format!(
                    "{} names {}: the {} chapter may not use the {} chapter above it",
                    name(from),
                    name(to),
                    CHAPTERS[low],
                    CHAPTERS[high]
                ));
            }
        }
    }
    for circle in circles(&edges) {
        let names: Vec<String> = circle.iter().map(name).collect();
        found.push(format!("import circle: {}", names.join(" -> ")));
    }
    found
}

/// The strongly connected components of more than one module (Tarjan).
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'e> {
        edges: &'e BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'e Module, usize>,
        low: BTreeMap<&'e Module, usize>,
        stack: Vec<&'e Module>,
        on_stack: BTreeSet<&'e Module>,
        found: Vec<Vec<Module>>,
    }
    fn visit<'e>(s: &mut State<'e>, v: &'e Module) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = s.edges.get_key_value(w) else { continue };
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn each_chapter_uses_only_the_chapters_below_it_and_nothing_imports_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "the layout is broken:\n  {}", found.join("\n  "));
}

/// The check itself: a small tree with one violation of each kind.
#[test]
fn a_planted_violation_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |path: &str, text: &str| {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("lib.rs", "pub mod domain;\npub mod store;\npub mod report;\n");
    write("domain/mod.rs", "pub mod event;\npub mod subject;\n");
    write("domain/event.rs", "use crate::domain::subject::Fold;\n");
    write("domain/subject.rs", "use super::event::Event;\n");
    write("store/mod.rs", "pub mod writer;\n");
    write("store/writer.rs", "use crate::domain::event::Event;\nfn f() { crate::report::tables::sum(); }\n");
    write("report/mod.rs", "pub mod tables;\n");
    write(
        "report/tables.rs",
        "use crate::{domain::event::Event, store::writer};\n#[cfg(test)]\nmod tests { use crate::cli::X; }\n",
    );
    let found = violations(src);
    assert!(
        found.iter().any(|v| v.starts_with("store::writer names report::tables")),
        "a lower chapter naming a higher one: {found:?}"
    );
    assert!(found.contains(&"import circle: domain::event -> domain::subject".to_owned()), "a circle: {found:?}");
    assert!(
        found.contains(&"import circle: report::tables -> store::writer".to_owned()),
        "a circle across chapters, through `use crate::{{…}}`: {found:?}"
    );
    assert_eq!(found.len(), 3, "nothing else, and a unit test may look anywhere: {found:?}");

    write("misplaced.rs", "");
    assert!(violations(src).iter().any(|v| v.contains("src/misplaced.rs lies directly in src/")));
}
