/**
 * The GraphQL schema (SDL) the server serves; resolvers.ts implements it. Its enums are written
 * from src/shared/protocol.ts's lists, so a new series kind or run status reaches the schema by itself.
 */
import { RUN_STATUSES, SERIES_KINDS, SERIES_ROLES } from "../shared/protocol.js";

export const typeDefs = /* GraphQL */ `
  "Any JSON value: point columns travel as one JSON value, not per-point objects."
  scalar JSON

  enum SeriesKind {
    ${SERIES_KINDS.join("\n    ")}
  }

  "What a series stands for beyond its kind (protocol/SPEC.md section 5)."
  enum SeriesRole {
    ${SERIES_ROLES.join("\n    ")}
  }

  enum RunStatus {
    ${RUN_STATUSES.join("\n    ")}
  }

  type SourceLocation {
    file: String!
    line: Int!
  }

  "Why the last rejected stream entry of a series was refused (protocol/SPEC.md section 3)."
  type EntryError {
    code: String!
    message: String!
    entryId: String!
  }

  "A run's series. A NautilusTrader run's ids, titles, panes and values (exact decimals, units) follow protocol/SPEC.md section 8, whether charted by the Chartbridge actor or from Nautilus's bus."
  type Series {
    id: ID!
    run: ID!
    kind: SeriesKind!
    pane: String!
    title: String!
    color: String
    options: JSON!
    source: SourceLocation
    "The series a marker series draws on; for a condition, the series of the function that checked it."
    target: ID
    "condition: a line of one named boolean per bar, 1 where it held, 0 where it did not (cb.condition); null for a plain series."
    role: SeriesRole
    "Points held after the ordering rule (replaced points count once)."
    count: Int!
    firstTimeUs: Float
    lastTimeUs: Float
    "The last point's value (the close of a candle or bar, a marker's price), or null."
    lastValue: Float
    "Stream entries refused as invalid."
    rejected: Int!
    "Points dropped for being earlier than the series' last time."
    stale: Int!
    "Points the producer could not store (dropped during a Redis outage beyond its backlog), from the run's lost record (protocol/SPEC.md section 11); 0 when none were, or when the record is unreadable."
    lost: Int!
    lastError: EntryError
    """
    Why this series' stream cannot be read now (e.g. its key holds another Redis type, or a full Redis evicted it), or null.
    Such a series answers as empty while the rest of its run answers (protocol/SPEC.md section 10).
    """
    error: String
  }

  type Run {
    id: ID!
    strategy: String!
    source: String!
    language: String!
    status: RunStatus!
    "Microseconds since the Unix epoch."
    startedUs: Float!
    endedUs: Float
    series: [Series!]!
    "Plugins enabled or disabled for this run (by cb.plugin or setPlugin), with their parameters."
    plugins: [RunPlugin!]!
    "End-of-run statistics and trades (cb.results), or null. A stat named '<group> | <name>' belongs to a group: a Nautilus run's account (e.g. 'SIM-001 | Sharpe Ratio (252 days)'; PnL stats per currency as '<name> (<ccy>)'), and each trade names its account."
    results: JSON
    "What identifies the run (parameters, git commit, data, versions), or null when its producer wrote none."
    identity: RunIdentity
    """
    The uncommitted diff ('git diff HEAD --binary') saved when the run started dirty, each byte as
    one Latin-1 character; null when clean, over 1 MiB (only identity.git.diffHash then) or not saved.
    """
    dirtyDiff: String
    """
    What of this run cannot be read now, or null: a key holding another Redis type, a value that is
    not JSON or nests deeper than 64 levels. Only that part is left out (protocol/SPEC.md section 10).
    """
    error: String
  }

  "The workspace's git state when the run started (protocol/SPEC.md section 5)."
  type GitState {
    "The repository's top folder."
    root: String!
    "HEAD when the run started."
    commit: String!
    "Tracked files differed from HEAD."
    dirty: Boolean!
    "SHA-256 (hex) of 'git diff HEAD --binary' when dirty, else null: equal hashes, equal changes."
    diffHash: String
  }

  "The bars of one bar type a run ran on."
  type DataIdentity {
    instrument: String!
    barType: String!
    firstUs: Float
    lastUs: Float
    count: Int!
  }

  "What identifies a run, for comparing runs (protocol/SPEC.md section 5, manifest field identity)."
  type RunIdentity {
    "The strategy's parameters: a Nautilus strategy's config, or cb.configure(params=...) / cb.run(params=...)."
    params: JSON!
    "Null outside a git repository."
    git: GitState
    "Each bar type the run charted (the Nautilus actor records it); other runs: see each series' count and times."
    data: [DataIdentity!]!
    "Language and library versions by name."
    versions: JSON!
  }

  "Where a series of a run first differs from the same-named series of the base run."
  type Divergence {
    "The time of the first point that differs, or that one run has and the other lacks."
    timeUs: Float!
    "The index of that point: the points before it are equal in both runs."
    index: Int!
    "The base run's values at timeUs ([y] or [o, h, l, c, vol]; null entries: no value), or null when it has no point then."
    baseValues: [Float]
    "The compared run's values at timeUs, or null when it has no point then."
    values: [Float]
    "Marker series: the base run's marker text at timeUs."
    baseText: String
    text: String
  }

  type SeriesComparison {
    series: ID!
    "The run compared with the base run (the first one asked)."
    run: ID!
    kind: SeriesKind!
    baseCount: Int!
    count: Int!
    "Null when both runs' series are equal (within the tolerance)."
    divergence: Divergence
  }

  type StatComparison {
    name: String!
    "One value per run, in the order asked; null where a run lacks the statistic."
    values: [JSON]!
    "Each run's value minus the base's where both are numbers; null for the base and otherwise."
    deltas: [Float]!
  }

  "The trades (cb.results) of a run against the base run's."
  type TradesComparison {
    run: ID!
    baseCount: Int!
    count: Int!
    "The index of the first trade that differs in any column (or that one run lacks), null when equal."
    firstDifference: Int
    baseTrade: JSON
    trade: JSON
    "Trades of the base run with no trade in this run opened at the same time, side and instrument."
    onlyBase: [JSON!]!
    "Trades of this run with no such trade in the base run."
    onlyOther: [JSON!]!
    "Trades in both whose exit time, entry or exit price or PnL differ: {base, other}."
    changed: [JSON!]!
  }

  type Comparison {
    runs: [ID!]!
    "The earliest divergence over every series ('runs agree until ...'), or null when the runs agree."
    first: SeriesComparison
    "Every series of the base and of each other run, ordered by divergence time; series that agree come last."
    series: [SeriesComparison!]!
    stats: [StatComparison!]!
    "One per run after the first."
    trades: [TradesComparison!]!
  }

  "One run of a parameter sweep."
  type SweepRun {
    id: ID!
    status: RunStatus!
    startedUs: Float!
    "The run's identity params by name: scalars as they are, a nested value as its JSON text."
    params: JSON!
    "The run's numeric end-of-run statistics (cb.results) by name."
    stats: JSON!
  }

  "Every run of one strategy with its parameters and statistics (the panel's sweep table)."
  type Sweep {
    strategy: String!
    "Every parameter name of these runs, sorted."
    params: [String!]!
    "Every numeric statistic name of these runs, sorted."
    stats: [String!]!
    "Newest first."
    runs: [SweepRun!]!
    "More than 10000 runs: only the newest 10000 are listed."
    truncated: Boolean!
  }

  type RunPlugin {
    name: String!
    enabled: Boolean!
    params: JSON!
  }

  "Points of a time range at screen resolution."
  type Range {
    run: ID!
    series: ID!
    kind: SeriesKind!
    "Points returned (at most about maxPoints; markers are never dropped)."
    count: Int!
    "Points the series holds in the range before decimation."
    total: Int!
    decimated: Boolean!
    "Width of a bucket in microseconds (0 when not decimated); markers can be snapped to it."
    bucketUs: Float!
    "Stream ID of the last entry included: subscribe to batches after it to continue live."
    lastId: String!
    """
    Points the series held up to lastId, after the ordering rule (protocol/SPEC.md section 3). A
    batch whose offset is below it repeats its first (through - offset) points: a client that
    merges batches into this answer drops those markers (markers are never replaced, so merging
    them again would show them twice).
    """
    through: Int!
    points: JSON!
  }

  "Something that happened to a run (protocol/SPEC.md section 6), or to the run list."
  type RunEvent {
    run: ID!
    "series, plugin, publish, results, end; and on the run list: start, delete."
    type: String!
    data: JSON!
    "Stream ID, to resume after."
    id: String!
  }

  type Plugin {
    name: String!
    "workspace (the plugin folder) or builtin (shipped with Chartbridge)."
    origin: String!
    "Bumped on every successful build."
    version: Int!
    "The bundled ES module of the last good build, or null before the first one."
    code: String
    "Why the last build failed, or null if it succeeded."
    error: String
    "The plugin's file was deleted: unload it."
    deleted: Boolean!
  }

  "Points of one series in the JSON form of protocol/SPEC.md section 4 (times in microseconds)."
  type Batch {
    run: ID!
    series: ID!
    kind: SeriesKind!
    count: Int!
    "Index in the series of the first point, in stream order after the ordering rule: the k-th marker of a series is the k-th for every reader (protocol/SPEC.md section 3)."
    offset: Int!
    """
    Pass as 'after' to continue right after these points, with no gap and no duplicate. After a
    connection ends in any way (a 4499 close names it too; a socket the keepalive killed, 1006,
    names nothing), resubscribe with the lastId of the last batch received.
    """
    lastId: String!
    points: JSON!
  }

  "The bars where a set of conditions all held (Query.conditionBars)."
  type ConditionBars {
    "Bars where every condition held, exact whatever maxPoints is."
    count: Int!
    "0: t lists the bars themselves; else t lists the start of each bucket of this width (µs) holding at least one."
    bucketUs: Float!
    t: [Float!]!
  }

  type Query {
    "Runs, newest first."
    runs: [Run!]!
    run(id: ID!): Run
    """
    Stored points after a stream ID ('0-0': from the start): at most maxPoints (1..100000) points,
    cut at whole stream entries so that lastId resumes exactly after them. An entry is never split:
    when the first entry alone holds more than maxPoints points, the reply is that entry whole.
    """
    history(run: ID!, series: ID!, after: String = "0-0", maxPoints: Int = 50000): Batch!
    """
    Points with fromUs <= t <= toUs (either null: open-ended), decimated to about maxPoints:
    candles re-bucketed to the OHLC of each bucket, lines to the min and max of each bucket,
    markers (more than maxPoints / 16) clustered per 16 buckets: a cell of several is one marker
    with "cluster": {count, buys, sells, toUs}.
    """
    range(run: ID!, series: ID!, fromUs: Float, toUs: Float, maxPoints: Int!): Range!
    """
    The bars (µs times, fromUs <= t <= toUs, either null: open-ended) where every series in
    conditions (1 to 16, each of role condition) has a point of 1: a condition not recorded at a
    bar did not hold there. More than maxPoints are answered as the start of each bucket holding one.
    """
    conditionBars(run: ID!, conditions: [ID!]!, fromUs: Float, toUs: Float, maxPoints: Int!): ConditionBars!
    plugins: [Plugin!]!
    """
    Compares runs on their stored points: the first run is the base, every other run is compared
    with it. Each same-named series' first divergence (values equal within tolerance, 0: exactly),
    the statistics per run with deltas, and the trades. 2 to 16 runs.
    """
    compare(runs: [ID!]!, tolerance: Float = 0): Comparison!
    "Every run of a strategy with its parameters and numeric statistics, in one answer (a parameter sweep)."
    sweep(strategy: String!): Sweep!
  }

  type Mutation {
    """
    Enables or disables a plugin for a run, as cb.plugin does from Python. params: a JSON object of
    at most 65536 bytes as JSON, nested at most 64 levels.
    """
    setPlugin(run: ID!, name: String!, enabled: Boolean!, params: JSON): RunPlugin!
    "Deletes every key of a run."
    deleteRun(run: ID!): Boolean!
  }

  type Subscription {
    "Points of a series after a stream ID ('$': only new ones), then live, coalesced into batches."
    batches(run: ID!, series: ID!, after: String = "$"): Batch!
    "Events of one run after a stream ID, or (run: null) of the run list."
    runEvents(run: ID, after: String = "$"): RunEvent!
    "Every plugin now, then each new version or build error."
    plugins: Plugin!
  }
`;
