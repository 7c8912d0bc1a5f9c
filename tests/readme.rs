//! What the README promises a new user, checked: every file it tells them
//! to use exists, and every HTTP route the service answers is in its table.

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn every_example_file_the_readme_names_exists() {
    let text = readme();
    let mut named = 0;
    for (i, _) in text.match_indices("examples/") {
        let path: String =
            text[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_')).collect();
        let path = path.trim_end_matches(['.', '/']);
        if path.ends_with(".jsonl")
            || path.ends_with(".csv")
            || path.ends_with(".py")
            || path.ends_with(".mjs")
            || path.ends_with(".sh")
            || path.ends_with(".toml")
            || path.ends_with(".txt")
            || path.ends_with(".json")
        {
            named += 1;
            assert!(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(path).is_file(),
                "the README names {path}, which is missing"
            );
        }
    }
    assert!(named >= 5, "the README names its examples ({named} found)");
}

#[test]
fn every_http_route_is_in_the_readme() {
    let text = readme();
    let routes =
        disclosure_ledger::api::http::route::Routes::from_pool(&disclosure_ledger::api::http::transcode::POOL).unwrap();
    for route in routes.iter() {
        let path = route.path();
        assert!(
            text.contains(&format!("`{} {path}`", route.method)),
            "the README's route table lacks {} {path}",
            route.method
        );
    }
}
