//! Converts rule files to every target (or one) and prints the queries, for a quick look:
//! `cargo run -p sigrun-convert --example convert -- RULE.yml [TARGET] [PIPELINE|none]`.

use sigrun_convert::{Options, Target, convert};
use sigrun_pipeline::Pipeline;
use sigrun_rule::load_file;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: convert RULE.yml [TARGET] [PIPELINE|none]");
        std::process::exit(2);
    };
    let targets: Vec<Target> = match args.get(1) {
        Some(name) => match name.parse() {
            Ok(target) => vec![target],
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        },
        None => Target::ALL.to_vec(),
    };
    let file = load_file(path.as_ref());
    for document in &file.documents {
        let Some(rule) = document.rule() else {
            continue;
        };
        for &target in &targets {
            let pipeline_name = match args.get(2).map(String::as_str) {
                Some("none") => None,
                Some(name) => Some(name),
                None => target.default_pipeline(),
            };
            let pipeline = match pipeline_name.map(Pipeline::builtin).transpose() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(2);
                }
            };
            println!("== {target} ({})", pipeline_name.unwrap_or("no pipeline"));
            match convert(rule, target, pipeline, &Options::default()) {
                Ok(conversion) => {
                    println!("{}", conversion.text());
                    for w in &conversion.warnings {
                        println!("   warning: {w}");
                    }
                    for (s, e) in &conversion.errors {
                        println!("   error [{s}]: {e}");
                    }
                }
                Err(e) => println!("   ERROR: {e}"),
            }
        }
    }
}
