//! The crates' modules depend on each other in one direction: no module reaches, through any
//! chain of `use`s and paths, back to itself. A ring of modules cannot be read from one end,
//! and one change anywhere in it touches all of it.
//!
//! Each crate's source is parsed (with `syn`, so a `use` is read as the compiler reads it); a
//! module depends on another when it names one of its items, by `use` or by a path in its code.
//! Declaring a child module (`mod x;`) is not a dependency: a parent that only declares its
//! children stays below them. Test modules (`#[cfg(test)]`) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module, as the path of its items from the crate root (`graphql::execution`).
type Module = Vec<String>;

#[test]
fn no_module_of_any_crate_depends_on_itself_through_others() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut rings = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/ is listed") {
        let source = entry.expect("a crate").path().join("src");
        for root in ["lib.rs", "main.rs"] {
            if source.join(root).exists() {
                let graph = dependencies(&source, root);
                for ring in rings_of(&graph) {
                    rings.push(describe(&source, &graph, &ring));
                }
            }
        }
    }
    assert!(rings.is_empty(), "modules that depend on themselves through others:\n\n{}", rings.join("\n\n"));
}

/// Every module reachable from the crate root file `root` in `source`, and the modules each one
/// names.
fn dependencies(source: &Path, root: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules(source, root);
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a module's file reads");
        let parsed = syn::parse_file(&text).unwrap_or_else(|error| panic!("{} parses: {error}", file.display()));
        let mut names = Names { paths: Vec::new() };
        for item in parsed.items.iter().filter(|item| !is_test_only(item)) {
            names.visit_item(item);
        }
        let children: BTreeSet<&str> = modules
            .keys()
            .filter(|other| other.len() == module.len() + 1 && other.starts_with(module))
            .map(|child| child[module.len()].as_str())
            .collect();
        let named: BTreeSet<Module> = names
            .paths
            .iter()
            .filter_map(|path| absolute(module, &children, path))
            .filter_map(|path| {
                (1..=path.len()).rev().map(|len| path[..len].to_vec()).find(|prefix| modules.contains_key(prefix))
            })
            .filter(|target| target != module)
            .collect();
        graph.insert(module.clone(), named);
    }
    graph
}

/// The modules of the crate rooted at `source/root`, each with its file, found as the compiler
/// finds them: `a.rs` or `a/mod.rs` beside the parent's file, in the parent's own folder.
fn modules(source: &Path, root: &str) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut pending = vec![(Vec::new(), source.join(root), source.to_path_buf())];
    while let Some((module, file, folder)) = pending.pop() {
        let text = std::fs::read_to_string(&file).expect("a module's file reads");
        let parsed = syn::parse_file(&text).expect("a module's file parses");
        for item in &parsed.items {
            if let syn::Item::Mod(declared) = item
                && declared.content.is_none()
                && !is_test_only(item)
            {
                let name = declared.ident.to_string();
                let (flat, nested) = (folder.join(format!("{name}.rs")), folder.join(&name).join("mod.rs"));
                let child_file = if flat.exists() { flat } else { nested };
                let mut child = module.clone();
                child.push(name.clone());
                pending.push((child, child_file, folder.join(&name)));
            }
        }
        found.insert(module, file);
    }
    found
}

fn is_test_only(item: &syn::Item) -> bool {
    let attributes = match item {
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        _ => return false,
    };
    attributes.iter().any(|attribute| {
        attribute.path().is_ident("cfg") && attribute.parse_args::<syn::Ident>().is_ok_and(|arg| arg == "test")
    })
}

/// Every path a module's code names, `use` trees flattened.
struct Names {
    paths: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for Names {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        flatten(&item.tree, Vec::new(), &mut self.paths);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths.push(path.segments.iter().map(|segment| segment.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    /// `pub(super)` names who may see an item, not an item it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if !is_test_only(&syn::Item::Mod(item.clone())) {
            syn::visit::visit_item_mod(self, item);
        }
    }
}

fn flatten(tree: &syn::UseTree, prefix: Vec<String>, paths: &mut Vec<Vec<String>>) {
    let with = |name: &syn::Ident| {
        let mut path = prefix.clone();
        path.push(name.to_string());
        path
    };
    match tree {
        syn::UseTree::Path(step) => flatten(&step.tree, with(&step.ident), paths),
        syn::UseTree::Name(name) => paths.push(with(&name.ident)),
        syn::UseTree::Rename(rename) => paths.push(with(&rename.ident)),
        syn::UseTree::Glob(_) => paths.push(prefix),
        syn::UseTree::Group(group) => group.items.iter().for_each(|item| flatten(item, prefix.clone(), paths)),
    }
}

/// `path`, named in `module`, from the crate root; `None` when it leaves the crate.
fn absolute(module: &Module, children: &BTreeSet<&str>, path: &[String]) -> Option<Module> {
    let (first, rest) = path.split_first()?;
    let mut resolved = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => module[..module.len().checked_sub(1)?].to_vec(),
        child if children.contains(child) => {
            let mut resolved = module.clone();
            resolved.push(child.to_owned());
            resolved
        }
        _ => return None,
    };
    for segment in rest {
        match segment.as_str() {
            "super" => {
                resolved.pop()?;
            }
            "self" => {}
            name => resolved.push(name.to_owned()),
        }
    }
    Some(resolved)
}

/// The strongly connected components of more than one module (Tarjan's algorithm).
fn rings_of(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Search<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        on_stack: BTreeSet<&'g Module>,
        rings: Vec<Vec<Module>>,
    }
    impl<'g> Search<'g> {
        fn visit(&mut self, module: &'g Module) {
            let order = self.index.len();
            self.index.insert(module, order);
            self.low.insert(module, order);
            self.stack.push(module);
            self.on_stack.insert(module);
            for next in self.graph.get(module).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[module].min(self.low[next]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[module].min(self.index[next]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut ring = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    ring.push(member.clone());
                    if member == module {
                        break;
                    }
                }
                if ring.len() > 1 {
                    ring.sort();
                    self.rings.push(ring);
                }
            }
        }
    }
    let mut search = Search {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        rings: Vec::new(),
    };
    for module in graph.keys() {
        if !search.index.contains_key(module) {
            search.visit(module);
        }
    }
    search.rings
}

/// A ring, as its files and the dependencies between them that keep it closed.
fn describe(source: &Path, graph: &BTreeMap<Module, BTreeSet<Module>>, ring: &[Module]) -> String {
    let name = |module: &Module| if module.is_empty() { "(crate root)".to_owned() } else { module.join("::") };
    let mut lines = vec![format!("{}: {} modules", source.display(), ring.len())];
    for module in ring {
        let within: Vec<String> = graph[module].iter().filter(|target| ring.contains(target)).map(name).collect();
        lines.push(format!("  {} -> {}", name(module), within.join(", ")));
    }
    lines.join("\n")
}
