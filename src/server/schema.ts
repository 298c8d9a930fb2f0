/** The GraphQL schema (SDL) the server serves; resolvers.ts implements it. */
export const typeDefs = /* GraphQL */ `
  "Any JSON value: point columns travel as one JSON value, not per-point objects."
  scalar JSON

  enum SeriesKind {
    line
    area
    baseline
    histogram
    candlestick
    bar
    marker
  }

  enum RunStatus {
    running
    ended
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

  type Series {
    id: ID!
    run: ID!
    kind: SeriesKind!
    pane: String!
    title: String!
    color: String
    options: JSON!
    source: SourceLocation
    "The series a marker series draws on."
    target: ID
    "Points held after the ordering rule (replaced points count once)."
    count: Int!
    firstTimeUs: Float
    lastTimeUs: Float
    "Stream entries refused as invalid."
    rejected: Int!
    "Points dropped for being earlier than the series' last time."
    stale: Int!
    lastError: EntryError
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
  }

  "Points of one series in the JSON form of protocol/SPEC.md section 4 (times in microseconds)."
  type Batch {
    run: ID!
    series: ID!
    kind: SeriesKind!
    count: Int!
    "Pass as 'after' to continue right after these points, with no gap and no duplicate."
    lastId: String!
    points: JSON!
  }

  type Query {
    "Runs, newest first."
    runs: [Run!]!
    run(id: ID!): Run
    "Stored points after a stream ID ('0-0': from the start), at most about maxPoints, cut at whole entries."
    history(run: ID!, series: ID!, after: String = "0-0", maxPoints: Int = 50000): Batch!
  }

  type Subscription {
    "Points of a series after a stream ID ('$': only new ones), then live, coalesced into batches."
    batches(run: ID!, series: ID!, after: String = "$"): Batch!
  }
`;
