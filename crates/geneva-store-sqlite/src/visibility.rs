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

/// Whether the viewer may see the version row aliased `v`.
pub(crate) fn version_visible(v: &str, viewer: &Viewer, args: &mut Vec<Value>) -> String {
    match viewer {
        Viewer::Operator => "1".to_string(),
        Viewer::Anonymous => format!("{v}.tlp = 'clear'"),
        Viewer::Member { organisation, user } => {
            let org = bind(args, *organisation);
            let user = bind(args, user.map_or(Value::Null, Value::Integer));
            format!(
                "({v}.tlp IN ('clear', 'green') OR {v}.org_id = {org} \
                 OR ({v}.tlp = 'amber' AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {v}.seq AND \
                     ((r.kind = 'org' AND r.ref_id = {org}) OR (r.kind = 'group' AND r.ref_id IN \
                      (SELECT m.group_id FROM sharing_group_members m WHERE m.organisation = {org}))))) \
                 OR ({v}.tlp = 'amber+strict' AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {v}.seq \
                     AND r.kind = 'org' AND r.ref_id = {org})) \
                 OR ({v}.tlp = 'red' AND {user} IS NOT NULL AND EXISTS (SELECT 1 FROM version_recipients r \
                     WHERE r.seq = {v}.seq AND r.kind = 'user' AND r.ref_id = {user})))"
            )
        }
    }
}

/// For the current-view row aliased `c`: the seq of the newest version the
/// viewer may see, or NULL. Observables (no version time) order by arrival.
pub(crate) fn visible_seq(viewer: &Viewer, args: &mut Vec<Value>) -> String {
    let fast = match viewer {
        Viewer::Operator => return "c.seq".to_string(),
        Viewer::Anonymous => "c.tlp = 'clear'".to_string(),
        Viewer::Member { organisation, .. } => {
            let org = bind(args, *organisation);
            format!("c.tlp IN ('clear', 'green') OR c.org_id = {org}")
        }
    };
    let visible = version_visible("v2", viewer, args);
    format!(
        "CASE WHEN {fast} THEN c.seq ELSE (SELECT v2.seq FROM object_versions v2 WHERE v2.id = c.id AND {visible} \
         ORDER BY CASE WHEN v2.version IS NULL THEN '' ELSE v2.version_key END DESC, v2.seq DESC LIMIT 1) END"
    )
}
