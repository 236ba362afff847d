use super::*;

fn layer(name: &str) -> Digest {
    Digest::of(name.as_bytes())
}

fn node(name: &str, layers: &[&str]) -> Node {
    Node {
        digest: Digest::of(format!("manifest {name}").as_bytes()),
        names: vec![format!("{name}:1")],
        layers: layers.iter().map(|l| layer(l)).collect(),
        base_digest: None,
    }
}

fn d(name: &str) -> Digest {
    Digest::of(format!("manifest {name}").as_bytes())
}

/// base → runtime → {app1, app2}; tools on runtime; other unrelated.
fn family() -> Vec<Node> {
    vec![
        node("base", &["os"]),
        node("runtime", &["os", "python"]),
        node("app1", &["os", "python", "app1"]),
        node("app2", &["os", "python", "app2a", "app2b"]),
        node("other", &["alpine"]),
    ]
}

fn index_of(nodes: impl IntoIterator<Item = Node>) -> LineageIndex {
    let mut index = LineageIndex::default();
    for n in nodes {
        index.insert(n);
    }
    index
}

fn parents(index: &LineageIndex, names: &[&str]) -> Vec<Option<Digest>> {
    names.iter().map(|n| index.parent(&d(n)).cloned()).collect()
}

#[test]
fn chain_ids_are_dockers() {
    let l = [layer("a"), layer("b"), layer("c")];
    let chain = chain_ids(&l);
    assert_eq!(chain[0], l[0]);
    let c1 = Digest::of(format!("sha256:{} sha256:{}", l[0].hex(), l[1].hex()).as_bytes());
    assert_eq!(chain[1], c1);
    let c2 = Digest::of(format!("{c1} {}", l[2]).as_bytes());
    assert_eq!(chain[2], c2);
    assert!(chain_ids(&[]).is_empty());
    // The same layers in another order are another chain.
    assert_ne!(chain_ids(&[l[1].clone(), l[0].clone()])[1], c1);
}

#[test]
fn parent_is_the_longest_proper_layer_prefix() {
    let index = index_of(family());
    assert_eq!(index.len(), 5);
    assert_eq!(
        parents(&index, &["base", "runtime", "app1", "app2", "other"]),
        [
            None,
            Some(d("base")),
            Some(d("runtime")),
            Some(d("runtime")),
            None
        ]
    );
    assert_eq!(index.node(&d("app1")).unwrap().names, ["app1:1"]);
}

#[test]
fn insert_order_does_not_matter() {
    let expected = index_of(family());
    let mut reversed = family();
    reversed.reverse();
    let index = index_of(reversed);
    let names = ["base", "runtime", "app1", "app2", "other"];
    assert_eq!(parents(&index, &names), parents(&expected, &names));
    assert_eq!(index.tree(None), expected.tree(None));
    assert_eq!(
        index.dependents(&d("base")),
        expected.dependents(&d("base"))
    );
}

#[test]
fn inserting_a_base_after_its_children_relinks_them() {
    let mut index = index_of([
        node("app1", &["os", "python", "app1"]),
        node("base", &["os"]),
    ]);
    assert_eq!(index.parent(&d("app1")), Some(&d("base")));
    index.insert(node("runtime", &["os", "python"]));
    assert_eq!(index.parent(&d("app1")), Some(&d("runtime")));
    assert_eq!(index.parent(&d("runtime")), Some(&d("base")));
    assert_eq!(index.children(&d("base")), [&d("runtime")]);
}

#[test]
fn equal_layer_lists_are_not_parent_and_child() {
    let index = index_of([node("a", &["os", "x"]), node("b", &["os", "x"])]);
    assert_eq!(index.parent(&d("a")), None);
    assert_eq!(index.parent(&d("b")), None);
}

#[test]
fn a_tie_between_twins_goes_to_the_smaller_digest_whatever_the_order() {
    let twins = [node("twin1", &["os"]), node("twin2", &["os"])];
    let smaller = d("twin1").min(d("twin2"));
    let child = node("child", &["os", "app"]);
    let one = index_of([twins[0].clone(), twins[1].clone(), child.clone()]);
    let two = index_of([child.clone(), twins[1].clone(), twins[0].clone()]);
    assert_eq!(one.parent(&d("child")), Some(&smaller));
    assert_eq!(two.parent(&d("child")), Some(&smaller));
}

#[test]
fn base_digest_annotation_overrides_the_prefix_when_known() {
    // Squashed or re-based: app's layers do not start with base2's, its annotation says base2.
    let mut app = node("app", &["os", "python", "app"]);
    app.base_digest = Some(d("base2"));
    let mut index = index_of([
        node("base", &["os"]),
        node("runtime", &["os", "python"]),
        app,
    ]);
    assert_eq!(
        index.parent(&d("app")),
        Some(&d("runtime")),
        "base2 unknown yet"
    );
    index.insert(node("base2", &["other-os"]));
    assert_eq!(index.parent(&d("app")), Some(&d("base2")));
    assert_eq!(index.dependents(&d("base2")).len(), 1);
    assert!(index.dependents(&d("runtime")).is_empty());
    index.remove(&d("base2"));
    assert_eq!(
        index.parent(&d("app")),
        Some(&d("runtime")),
        "back to the prefix"
    );
}

#[test]
fn a_base_digest_annotation_closing_a_cycle_is_ignored() {
    let mut base = node("base", &["os"]);
    base.base_digest = Some(d("app"));
    let index = index_of([node("app", &["os", "app"]), base]);
    assert_eq!(index.parent(&d("app")), Some(&d("base")));
    assert_eq!(index.parent(&d("base")), None);
    assert_eq!(index.tree(None).len(), 1);
}

#[test]
fn remove_relinks_children_to_their_next_longest_prefix() {
    let mut index = index_of(family());
    index.remove(&d("runtime"));
    assert_eq!(index.len(), 4);
    assert!(index.node(&d("runtime")).is_none());
    assert_eq!(
        parents(&index, &["app1", "app2"]),
        [Some(d("base")), Some(d("base"))]
    );
    index.remove(&d("base"));
    assert_eq!(parents(&index, &["app1", "app2"]), [None, None]);
    index.insert(node("runtime", &["os", "python"]));
    assert_eq!(
        parents(&index, &["app1", "app2"]),
        [Some(d("runtime")), Some(d("runtime"))]
    );
    index.remove(&d("nothing"));
    assert_eq!(index.len(), 4);
}

#[test]
fn reinserting_an_image_replaces_it() {
    let mut index = index_of(family());
    let mut moved = node("app1", &["alpine", "app1"]);
    moved.names = vec!["app1:2".to_owned()];
    index.insert(moved);
    assert_eq!(index.len(), 5);
    assert_eq!(index.parent(&d("app1")), Some(&d("other")));
    assert_eq!(index.children(&d("runtime")), [&d("app2")]);
    assert_eq!(index.node(&d("app1")).unwrap().names, ["app1:2"]);
}

#[test]
fn dependents_are_breadth_first_with_parent_and_depth() {
    let mut nodes = family();
    nodes.push(node("tool", &["os", "python", "app1", "tool"]));
    let index = index_of(nodes);
    let deps = index.dependents(&d("base"));
    let got: Vec<(Digest, Digest, usize)> = deps
        .iter()
        .map(|x| (x.digest.clone(), x.parent.clone(), x.depth))
        .collect();
    let mut apps = [d("app1"), d("app2")];
    apps.sort();
    assert_eq!(
        got,
        [
            (d("runtime"), d("base"), 1),
            (apps[0].clone(), d("runtime"), 2),
            (apps[1].clone(), d("runtime"), 2),
            (d("tool"), d("app1"), 3),
        ]
    );
    assert_eq!(deps[0].names, ["runtime:1"]);
    assert!(index.dependents(&d("app2")).is_empty());
    assert!(index.dependents(&d("unknown")).is_empty());
}

#[test]
fn tree_shows_the_forest_or_one_root() {
    let index = index_of(family());
    let forest = index.tree(None);
    let mut roots = [d("base"), d("other")];
    roots.sort();
    assert_eq!(
        forest.iter().map(|t| t.digest.clone()).collect::<Vec<_>>(),
        roots
    );
    let base = index.tree(Some(&d("base")));
    assert_eq!(base.len(), 1);
    assert_eq!(base[0].names, ["base:1"]);
    assert_eq!(base[0].children.len(), 1);
    let runtime = &base[0].children[0];
    assert_eq!(runtime.digest, d("runtime"));
    let mut apps = vec![d("app1"), d("app2")];
    apps.sort();
    let got: Vec<Digest> = runtime.children.iter().map(|c| c.digest.clone()).collect();
    assert_eq!(got, apps);
    assert!(runtime.children.iter().all(|c| c.children.is_empty()));
    // A subtree query starts at that image even when it has a parent.
    assert_eq!(index.tree(Some(&d("runtime")))[0], *runtime);
    assert!(index.tree(Some(&d("unknown"))).is_empty());
}

#[test]
fn a_deep_lineage_does_not_overflow_the_stack() {
    let layers: Vec<String> = (0..400).map(|i| format!("l{i}")).collect();
    let mut index = LineageIndex::default();
    for n in 1..=layers.len() {
        let refs: Vec<&str> = layers[..n].iter().map(String::as_str).collect();
        index.insert(node(&format!("n{n}"), &refs));
    }
    let tree = index.tree(None);
    assert_eq!(tree.len(), 1);
    assert_eq!(index.dependents(&d("n1")).len(), 399);
    assert_eq!(index.rebuild_waves(&d("n1")).len(), 399);
}

#[test]
fn rebuild_waves_put_parents_before_children() {
    let mut nodes = family();
    nodes.push(node("tool", &["os", "python", "app1", "tool"]));
    let index = index_of(nodes);
    let waves = index.rebuild_waves(&d("base"));
    let digests: Vec<Vec<Digest>> = waves
        .iter()
        .map(|w| w.iter().map(|x| x.digest.clone()).collect())
        .collect();
    let mut apps = vec![d("app1"), d("app2")];
    apps.sort();
    assert_eq!(digests, [vec![d("runtime")], apps, vec![d("tool")]]);
    let waves = index.rebuild_waves(&d("runtime"));
    assert_eq!(waves.len(), 2);
    assert!(index.rebuild_waves(&d("other")).is_empty());
}

#[test]
fn build_record_round_trips_as_json() {
    let record = BuildRecord {
        source: "https://git.example/team/app.git".to_owned(),
        commit: Some("0123abc".to_owned()),
        context: ".".to_owned(),
        dockerfile: "Dockerfile".to_owned(),
        target: None,
        args: [("VERSION".to_owned(), "1".to_owned())].into(),
        linked_layers: None,
    };
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(
        json,
        r#"{"source":"https://git.example/team/app.git","commit":"0123abc","context":".","dockerfile":"Dockerfile","args":{"VERSION":"1"}}"#
    );
    assert_eq!(serde_json::from_str::<BuildRecord>(&json).unwrap(), record);
    let linked = BuildRecord {
        linked_layers: Some(2),
        ..record
    };
    let json = serde_json::to_string(&linked).unwrap();
    assert!(json.ends_with(r#","linkedLayers":2}"#), "{json}");
    assert_eq!(serde_json::from_str::<BuildRecord>(&json).unwrap(), linked);
}

#[test]
fn every_insert_order_gives_the_same_links() {
    let mut squashed = node("squashed", &["flat"]);
    squashed.base_digest = Some(d("runtime"));
    let mut nodes = family();
    nodes.extend([
        node("twin", &["os", "python"]),
        node("tool", &["os", "python", "app1", "tool"]),
        node("deep", &["os", "python", "app1", "tool", "x", "y"]),
        squashed,
    ]);
    let names = [
        "base", "runtime", "app1", "app2", "other", "twin", "tool", "deep", "squashed",
    ];
    let reference = index_of(nodes.clone());
    let expected = parents(&reference, &names);
    assert_eq!(reference.parent(&d("squashed")), Some(&d("runtime")));
    assert_eq!(reference.parent(&d("deep")), Some(&d("tool")));
    // Every rotation, forwards and backwards, and one built by removing and re-adding.
    for shift in 0..nodes.len() {
        let mut order = nodes.clone();
        order.rotate_left(shift);
        assert_eq!(
            parents(&index_of(order.clone()), &names),
            expected,
            "rotation {shift}"
        );
        order.reverse();
        assert_eq!(
            parents(&index_of(order), &names),
            expected,
            "reversed {shift}"
        );
    }
    let mut index = index_of(nodes.clone());
    for n in &nodes {
        index.remove(&n.digest);
        index.insert(n.clone());
    }
    assert_eq!(parents(&index, &names), expected);
    assert_eq!(index.tree(None), reference.tree(None));
}
