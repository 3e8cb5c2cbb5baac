//! TLP 2.0 as SQL: which object versions a viewer may see.
//!
//! Every read query is built from these fragments, so the rules live in one
//! place. The current view keeps the current version's level and submitter,
//! so CLEAR, GREEN and a member's own data are decided without a join; only
//! restricted material consults `version_recipients`.

use geneva_store::Viewer;
use rusqlite::types::Value;

/// Appends `value` to the query's arguments and returns its placeholder.
pub(crate) fn bind(args: &mut Vec<Value>, value: impl Into<Value>) -> String {
    args.push(value.into());
    format!("?{}", args.len())
}

/// The sharing groups a viewer's organisation belongs to, looked up once per query.
pub(crate) fn groups_of(
    conn: &rusqlite::Connection,
    viewer: &Viewer,
) -> rusqlite::Result<Vec<i64>> {
    let Viewer::Member { organisation, .. } = viewer else {
        return Ok(Vec::new());
    };
    let mut stmt =
        conn.prepare_cached("SELECT group_id FROM sharing_group_members WHERE organisation = ?1")?;
    stmt.query_map([organisation], |r| r.get(0))?.collect()
}

/// Whether the viewer may see the version row aliased `v` (an `object_versions`
/// row, or a `current_objects` row, which carries the same `seq`, `tlp` and `org_id`).
pub(crate) fn version_visible(
    v: &str,
    viewer: &Viewer,
    groups: &[i64],
    args: &mut Vec<Value>,
) -> String {
    match viewer {
        Viewer::Operator => "1".to_string(),
        Viewer::Anonymous => format!("{v}.tlp = 'clear'"),
        Viewer::Member { organisation, user } => {
            let org = bind(args, *organisation);
            let user = bind(args, user.map_or(Value::Null, Value::Integer));
            let group_clause = if groups.is_empty() {
                String::new()
            } else {
                let marks: Vec<String> = groups.iter().map(|g| bind(args, *g)).collect();
                format!(
                    " OR (r.kind = 'group' AND r.ref_id IN ({}))",
                    marks.join(", ")
                )
            };
            format!(
                "({v}.tlp IN ('clear', 'green') OR {v}.org_id = {org} \
                 OR ({v}.tlp = 'amber' AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {v}.seq AND \
                     ((r.kind = 'org' AND r.ref_id = {org}){group_clause}))) \
                 OR ({v}.tlp = 'amber+strict' AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {v}.seq \
                     AND r.kind = 'org' AND r.ref_id = {org})) \
                 OR ({v}.tlp = 'red' AND {user} IS NOT NULL AND EXISTS (SELECT 1 FROM version_recipients r \
                     WHERE r.seq = {v}.seq AND r.kind = 'user' AND r.ref_id = {user})))"
            )
        }
    }
}

/// For the current-view row aliased `c`: the seq of the newest version the
/// viewer may see, or NULL. The current version is tried first; older ones are
/// searched only if there are any. Observables (no version time) order by arrival.
pub(crate) fn visible_seq(viewer: &Viewer, groups: &[i64], args: &mut Vec<Value>) -> String {
    if *viewer == Viewer::Operator {
        return "c.seq".to_string();
    }
    let current = version_visible("c", viewer, groups, args);
    let older = version_visible("v2", viewer, groups, args);
    format!(
        "CASE WHEN {current} THEN c.seq WHEN c.versions > 1 THEN (SELECT v2.seq FROM object_versions v2 \
         WHERE v2.id = c.id AND {older} \
         ORDER BY CASE WHEN v2.version IS NULL THEN '' ELSE v2.version_key END DESC, v2.seq DESC LIMIT 1) END"
    )
}
