//! How the configuration's numbers are written back (`config show`): a whole number as an
//! integer (`16777216`, `80`), not as YAML's float (`16777216.0`), so a byte size or a count
//! reads as what the operator wrote. Fractions keep their decimals.

use serde::Serializer;

/// Below 2^53 every whole f64 is exactly an i64.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn is_whole(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0 && v.abs() < EXACT
}

/// `#[serde(serialize_with = "numbers::whole")]` for an f64.
pub fn whole<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if is_whole(*v) {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// `#[serde(serialize_with = "numbers::whole_opt")]` for an Option<f64>.
pub fn whole_opt<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if is_whole(*x) => s.serialize_some(&(*x as i64)),
        Some(x) => s.serialize_some(x),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct T {
        #[serde(serialize_with = "super::whole")]
        a: f64,
        #[serde(serialize_with = "super::whole_opt")]
        b: Option<f64>,
        #[serde(serialize_with = "super::whole_opt")]
        c: Option<f64>,
    }

    #[test]
    fn whole_numbers_are_integers_and_fractions_stay() {
        let t = T {
            a: 16777216.0,
            b: Some(0.5),
            c: None,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"a":16777216,"b":0.5,"c":null}"#
        );
        let y = serde_saphyr::to_string(&T {
            a: 80.0,
            b: Some(1e20),
            c: Some(-3.0),
        })
        .unwrap();
        assert!(y.contains("a: 80\n"), "{y}");
        assert!(y.contains("c: -3\n"), "{y}");
        assert!(!y.contains("b: 100000000000000000000\n"), "{y}");
    }
}
