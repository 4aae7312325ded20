"""The raw floors' SQL: one hand-written statement per page that builds the hub's answer.

Each statement returns the whole response body as text, built in PostgreSQL by string
concatenation (not `json_build_object`/`json_agg`, whose output has spaces and newlines the
hub's `json.dumps(..., separators=(",", ":"))` has not): the keyset page, the related rows
through LATERAL subqueries and LEFT JOINs, global IDs and cursors base64-encoded in SQL. The
visibility is the hub's (`resolvers.policy`) written out by hand, for three kinds of viewer:
anonymous (`signed_in=False`: no token parameter at all), and signed in (a `viewer` CTE from
the bearer token's digest, `$2`/`$1`), where staff (moderators and admins) see what
`policy` lets them see. A signed-in statement answers NULL when the token is unknown.

The text PostgreSQL emits is what Python's `json.dumps` emits except for characters outside
printable ASCII, which `to_json` leaves raw and the hub escapes (`ensure_ascii`): the server
escapes those (`raw_floor.ascii_json`). Inside cursors (base64 of a JSON array, names in the
members' cursors) the escaping must happen before the encoding, so it is done in SQL
(`_ascii_escaped`).

Used by `raw_floor.py` (the servers) and `tests/test_bench_floors.py` (byte identity).
"""

from __future__ import annotations

from models.thread import ReactionKind

PAGE_SIZE = 50
STAFF = "('MODERATOR', 'ADMIN')"
# What the hub reports for these queries (schema/cost.py); the SQLAlchemy floors say the same.
MEMBERS_COST = '"extensions":{"cost":{"requested":604,"maximum":10000}}'
THREAD_COST = '"extensions":{"cost":{"requested":657,"maximum":10000}}'
THREAD_COMMON_COST = '"extensions":{"cost":{"requested":353,"maximum":10000}}'
RESOURCES_COST = '"extensions":{"cost":{"requested":1104,"maximum":10000}}'


# --- expression helpers --------------------------------------------------------------------


def _b64url(text_sql: str) -> str:
    """base64url of a text's UTF-8 bytes (`encode` wraps lines at 76: the newlines go)."""
    return f"translate(encode(convert_to({text_sql}, 'UTF8'), 'base64'), E'+/\\n', '-_')"


def gid(type_name: str, key_sql: str) -> str:
    """`floor.global_id`: base64url of 'Type:key', padded."""
    return _b64url(f"'{type_name}:' || ({key_sql})::text")


def cursor(*parts_sql: str) -> str:
    """`resolvers.pagination.encode_cursor`: base64url of a compact JSON array, unpadded.
    Each part is SQL yielding that element's JSON text (ASCII only)."""
    array = "'[' || " + " || ',' || ".join(parts_sql) + " || ']'"
    return f"rtrim({_b64url(array)}, '=')"


def jtext(value_sql: str) -> str:
    """A JSON value of any SQL value (a string quoted and escaped), `null` for NULL."""
    return f"coalesce(to_json({value_sql})::text, 'null')"


def jbool(condition_sql: str) -> str:
    return f"(CASE WHEN {condition_sql} THEN 'true' ELSE 'false' END)"


def iso(timestamp_sql: str) -> str:
    """`datetime.isoformat()` of an aware UTC timestamp: microseconds only when not zero."""
    utc = f"({timestamp_sql} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {utc})"
        f" = {utc} THEN '' ELSE to_char({utc}, '.US') END || '+00:00')"
    )


def _ascii_escaped(json_sql: str) -> str:
    """A JSON text with every character outside printable ASCII as \\uXXXX (surrogate pairs
    beyond the BMP), as `json.dumps(ensure_ascii=True)` writes it. Cheap when already ASCII."""
    code = "ascii(ch)"
    high = f"'\\u' || to_hex(55296 + (({code} - 65536) >> 10))"
    low = f"'\\u' || to_hex(56320 + (({code} - 65536) & 1023))"
    char = (
        f"CASE WHEN ch ~ '^[ -~]$' THEN ch WHEN {code} < 65536 "
        f"THEN '\\u' || lpad(to_hex({code}), 4, '0') ELSE {high} || {low} END"
    )
    return (
        f"(CASE WHEN {json_sql} ~ '^[ -~]*$' THEN {json_sql} ELSE (SELECT string_agg({char}, '' "
        f"ORDER BY i) FROM regexp_split_to_table({json_sql}, '') WITH ORDINALITY AS s(ch, i)) END)"
    )


# --- the viewer ----------------------------------------------------------------------------


def viewer_cte(token_param: str) -> str:
    """`resolvers.auth.viewer_for_token`: the token's member, if the token is live."""
    return (
        "viewer AS (SELECT m.id, m.role FROM auth_token t JOIN member m ON m.id = t.member_id "
        f"WHERE t.token_hash = {token_param} AND t.revoked_at IS NULL AND t.expires_at > now())"
    )


VIEWER_ID = "(SELECT id FROM viewer)"
IS_STAFF = f"coalesce((SELECT role FROM viewer) IN {STAFF}, false)"


def _answer(signed_in: bool, token_param: str, ctes: list[str], body_sql: str) -> str:
    """The statement: the CTEs (the viewer's first when signed in), then the body; NULL for
    a signed-in request whose token is not live."""
    if signed_in:
        ctes = [viewer_cte(token_param), *ctes]
        body_sql = f"CASE WHEN EXISTS (SELECT FROM viewer) THEN {body_sql} END"
    return "WITH " + ",\n".join(ctes) + f"\nSELECT {body_sql}"


# --- the members page: `members_page.QUERY` --------------------------------------------------


def visible_member(alias: str, signed_in: bool) -> str:
    """`policy.visible_members`: everyone signed in; the public sees opted-in experts."""
    return "true" if signed_in else f"{alias}.is_expert IS TRUE"


def members_statement(signed_in: bool) -> str:
    """$1: the token's digest when signed in."""
    page = (
        "page AS (SELECT m.id, m.name, m.name_key, m.country, m.is_expert, m.organization_id "
        f"FROM member m WHERE {visible_member('m', signed_in)} ORDER BY m.name_key, m.id "
        f"LIMIT {PAGE_SIZE + 1})"
    )
    # the directory's order is the names' collation keys (models/collation.py), hex in cursors
    member_cursor = cursor(
        "'\"members\"'", "'\"' || encode(p.name_key, 'hex') || '\"'", "p.id::text"
    )
    organization = (
        f"""'{{"id":"' || {gid("Organization", "o.id")} || '","name":' || {jtext("o.name")}"""
        f"""|| ',"kind":' || {jtext("o.kind")} || '}}'"""
    )
    edges = f"""edges AS (SELECT p.name_key, p.id, cur.cursor,
  '{{"cursor":"' || cur.cursor || '","node":{{"id":"' || {gid("Member", "p.id")}
  || '","name":' || {jtext("p.name")}
  || ',"country":' || CASE WHEN coalesce(p.country, '') = '' THEN 'null'
     ELSE '{{"code":' || to_json(p.country)::text || '}}' END
  || ',"isExpert":' || {jbool("p.is_expert")}
  || ',"organization":' || coalesce({organization}, 'null') || '}}}}' AS edge
  FROM (SELECT * FROM page ORDER BY name_key, id LIMIT {PAGE_SIZE}) p
  CROSS JOIN LATERAL (SELECT {member_cursor} AS cursor) cur
  LEFT JOIN organization o ON o.id = p.organization_id)"""
    body = f"""'{{"data":{{"members":{{"edges":[' || coalesce((SELECT string_agg(edge, ','
  ORDER BY name_key, id) FROM edges), '') || '],"pageInfo":{{"hasNextPage":'
  || {jbool(f"(SELECT count(*) FROM page) > {PAGE_SIZE}")} || ',"endCursor":'
  || coalesce((SELECT '"' || cursor || '"' FROM edges ORDER BY name_key DESC, id DESC LIMIT 1),
     'null') || '}}}}}},{MEMBERS_COST}}}'"""
    return _answer(signed_in, "$1", [page, edges], body)


# --- the thread page: `thread_page.QUERY` ----------------------------------------------------


def _thread_visible(signed_in: bool) -> str:
    """`policy.visible_threads` of `t` (joined to its community `c`)."""
    if not signed_in:
        return "c.visibility = 'PUBLIC' AND t.deleted_at IS NULL"
    member = (
        "EXISTS (SELECT FROM community_member cm WHERE cm.community_id = c.id "
        f"AND cm.member_id = {VIEWER_ID})"
    )
    return (
        f"({IS_STAFF} OR c.visibility = 'PUBLIC' OR {member}) "
        f"AND (t.deleted_at IS NULL OR {IS_STAFF})"
    )


def _post_body(signed_in: bool) -> str:
    """A deleted post's text is for moderators only (`policy.may_read_deleted_text`)."""
    if not signed_in:
        return f"CASE WHEN p.deleted_at IS NULL THEN {jtext('p.body')} ELSE 'null' END"
    moderator = (
        "EXISTS (SELECT FROM community_member cm WHERE cm.community_id = th.community_id "
        f"AND cm.member_id = {VIEWER_ID} AND cm.role = 'MODERATOR')"
    )
    readable = f"p.deleted_at IS NULL OR {IS_STAFF} OR {moderator}"
    return f"CASE WHEN {readable} THEN {jtext('p.body')} ELSE 'null' END"


def _reactions(signed_in: bool) -> str:
    """`resolvers.threads.reactions_by_post`: counts per kind in the enum's order, and whether
    the viewer reacted."""
    kinds = ", ".join(f"'{kind.value}'" for kind in ReactionKind)
    mine = f"coalesce(bool_or(x.member_id = {VIEWER_ID}), false)" if signed_in else "false"
    return f"""LEFT JOIN LATERAL (SELECT string_agg('{{"kind":"' || k.kind || '","count":'
    || k.n || ',"reactedByViewer":' || {jbool("k.mine")} || '}}', ','
    ORDER BY array_position(ARRAY[{kinds}]::text[], k.kind::text)) AS list
  FROM (SELECT x.kind, count(*) AS n, {mine} AS mine FROM reaction x
        WHERE x.post_id = p.id GROUP BY x.kind) k) r ON true"""


def _thread_cte(signed_in: bool) -> str:
    """The thread `$1`, if the viewer may see it."""
    return (
        "th AS (SELECT t.id, t.title, t.reply_count, t.community_id FROM thread t "
        f"JOIN community c ON c.id = t.community_id WHERE t.id = $1 AND {_thread_visible(signed_in)})"
    )


def _author(signed_in: bool) -> tuple[str, str]:
    """The JOIN of a post's author `a` (if the viewer may see them) and its JSON."""
    join = f"LEFT JOIN member a ON a.id = p.author_id AND {visible_member('a', signed_in)}"
    author = (
        f"""'{{"id":"' || {gid("Member", "a.id")} || '","name":' || {jtext("a.name")} || '}}'"""
    )
    return join, f"coalesce({author}, 'null')"


def thread_statement(signed_in: bool) -> str:
    """$1: the thread's key; $2: the token's digest when signed in."""
    thread = _thread_cte(signed_in)
    posts = (
        "posts AS (SELECT p.id, p.body, p.deleted_at, p.created_at, p.author_id FROM post p "
        f"WHERE p.thread_id = (SELECT id FROM th) ORDER BY p.id LIMIT {PAGE_SIZE + 1})"
    )
    post_cursor = cursor("'\"posts\"'", "p.id::text")
    author_join, author = _author(signed_in)
    edges = f"""edges AS (SELECT p.id, cur.cursor,
  '{{"cursor":"' || cur.cursor || '","node":{{"id":"' || {gid("Post", "p.id")}
  || '","body":' || {_post_body(signed_in)}
  || ',"createdAt":"' || {iso("p.created_at")} || '","author":' || {author}
  || ',"reactions":[' || coalesce(r.list, '') || ']}}}}' AS edge
  FROM (SELECT * FROM posts ORDER BY id LIMIT {PAGE_SIZE}) p CROSS JOIN th
  CROSS JOIN LATERAL (SELECT {post_cursor} AS cursor) cur
  {author_join}
  {_reactions(signed_in)})"""
    thread_json = f"""(SELECT '{{"title":' || {jtext("th.title")} || ',"replyCount":'
  || th.reply_count || ',"posts":{{"edges":[' || coalesce((SELECT string_agg(edge, ','
  ORDER BY id) FROM edges), '') || '],"pageInfo":{{"hasNextPage":'
  || {jbool(f"(SELECT count(*) FROM posts) > {PAGE_SIZE}")} || ',"endCursor":'
  || coalesce((SELECT '"' || cursor || '"' FROM edges ORDER BY id DESC LIMIT 1), 'null')
  || '}}}}}}' FROM th)"""
    body = f"""'{{"data":{{"thread":' || coalesce({thread_json}, 'null') || '}},{THREAD_COST}}}'"""
    return _answer(signed_in, "$2", [thread, posts, edges], body)


def thread_common_statement(signed_in: bool) -> str:
    """`postgraphile.HUB_COMMON_QUERY`, the thread page reduced to what PostGraphile answers
    too: the title and the first 50 posts with their authors. $1, $2 as the page's."""
    author_join, author = _author(signed_in)
    edges = f"""edges AS (SELECT p.id,
  '{{"node":{{"id":"' || {gid("Post", "p.id")} || '","body":' || {_post_body(signed_in)}
  || ',"author":' || {author} || '}}}}' AS edge
  FROM (SELECT p.id, p.body, p.deleted_at, p.author_id FROM post p
        WHERE p.thread_id = (SELECT id FROM th) ORDER BY p.id LIMIT {PAGE_SIZE}) p
  CROSS JOIN th {author_join})"""
    thread_json = f"""(SELECT '{{"title":' || {jtext("th.title")} || ',"posts":{{"edges":['
  || coalesce((SELECT string_agg(edge, ',' ORDER BY id) FROM edges), '') || ']}}}}' FROM th)"""
    body = f"""'{{"data":{{"thread":' || coalesce({thread_json}, 'null') || '}},{THREAD_COMMON_COST}}}'"""
    return _answer(signed_in, "$2", [_thread_cte(signed_in), edges], body)


# --- the resources page: `resources_page.QUERY` ----------------------------------------------


def visible_resource(alias: str, signed_in: bool) -> str:
    """`policy.visible_resources`: published ones; signed in, also one's own and those one
    is assigned to review; staff everything."""
    if not signed_in:
        return f"{alias}.state = 'APPROVED'"
    assigned = (
        f"EXISTS (SELECT FROM review_assignment ra WHERE ra.item_kind = 'RESOURCE' "
        f"AND ra.item_id = {alias}.id AND ra.reviewer_id = {VIEWER_ID})"
    )
    return (
        f"({IS_STAFF} OR {alias}.state = 'APPROVED' OR {alias}.author_id = {VIEWER_ID} "
        f"OR {assigned})"
    )


def _related(signed_in: bool, kind: str, incoming: bool) -> str:
    """A resource's confirmed relations of `kind` whose other end is visible, in relation
    order (`policy.visible_relations`: the page's own end is visible already)."""
    mine, other = ("to_id", "from_id") if incoming else ("from_id", "to_id")
    resource = (
        f"""'{{"id":"' || {gid("Resource", "x.id")} || '","title":' || {jtext("x.title")} || '}}'"""
    )
    item = f"""'{{"note":' || {jtext("rel.note")} || ',"resource":' || {resource} || '}}'"""
    return f"""coalesce((SELECT string_agg({item if incoming else resource}, ',' ORDER BY rel.id)
    FROM resource_relation rel JOIN resource x ON x.id = rel.{other}
    WHERE rel.{mine} = p.id AND rel.kind = '{kind}' AND rel.status = 'CONFIRMED'
      AND {visible_resource("x", signed_in)}), '')"""


def resources_statement(signed_in: bool) -> str:
    """$1: the objective's number; $2: the token's digest when signed in. The listing's
    default filter is the published (APPROVED) resources (`ResourceFilter.states`)."""
    order = "currency DESC, created_at DESC, id DESC"
    page = f"""page AS (SELECT r.id, r.title, r.kind, r.published_on, r.organization_id,
    r.currency, r.created_at FROM resource r
  WHERE {visible_resource("r", signed_in)} AND r.revision_of_id IS NULL
    AND r.state = 'APPROVED'
    AND EXISTS (SELECT FROM resource_objective ro WHERE ro.resource_id = r.id
                AND ro.objective_number = $1)
  ORDER BY r.{order.replace(", ", ", r.")} LIMIT {PAGE_SIZE + 1})"""
    resource_cursor = cursor(
        "'\"resources-newest\"'", "p.currency::text", f"'\"' || {iso('p.created_at')} || '\"'",
        "p.id::text",
    )  # fmt: skip
    objectives = f"""coalesce((SELECT string_agg('{{"number":' || o.number || ',"shortTitle":'
    || {jtext("o.short_title")} || '}}', ',' ORDER BY o.number) FROM resource_objective ro
    JOIN gcm_objective o ON o.number = ro.objective_number WHERE ro.resource_id = p.id), '')"""
    organization = (
        f"""'{{"id":"' || {gid("Organization", "o.id")} || '","name":' || {jtext("o.name")}"""
        f"""|| ',"kind":' || {jtext("o.kind")} || '}}'"""
    )
    edges = f"""edges AS (SELECT p.currency, p.created_at, p.id, cur.cursor,
  '{{"cursor":"' || cur.cursor || '","node":{{"id":"' || {gid("Resource", "p.id")}
  || '","title":' || {jtext("p.title")} || ',"kind":' || {jtext("p.kind")}
  || ',"publishedOn":' || {jtext("to_char(p.published_on, 'YYYY-MM-DD')")}
  || ',"objectives":[' || {objectives} || '],"organization":' || coalesce({organization}, 'null')
  || ',"supersedes":[' || {_related(signed_in, "SUPERSEDES", incoming=False)}
  || '],"contradictedBy":[' || {_related(signed_in, "CONTRADICTS", incoming=True)}
  || ']}}}}' AS edge
  FROM (SELECT * FROM page ORDER BY {order} LIMIT {PAGE_SIZE}) p
  CROSS JOIN LATERAL (SELECT {resource_cursor} AS cursor) cur
  LEFT JOIN organization o ON o.id = p.organization_id)"""
    body = f"""'{{"data":{{"resources":{{"edges":[' || coalesce((SELECT string_agg(edge, ','
  ORDER BY {order}) FROM edges), '') || '],"pageInfo":{{"hasNextPage":'
  || {jbool(f"(SELECT count(*) FROM page) > {PAGE_SIZE}")} || ',"endCursor":'
  || coalesce((SELECT '"' || cursor || '"' FROM edges ORDER BY currency, created_at, id
     LIMIT 1), 'null') || '}}}}}},{RESOURCES_COST}}}'"""
    return _answer(signed_in, "$2", [page, edges], body)
