import Foundation
import OPTBench

/// The report over suite runs (`optiml eval --suite`): the paper's comparison layout, a row per suite and
/// shot count, then its categories (MMLU's stem, humanities, …) and, for suites that average their tasks
/// (`mean`, e.g. opt14), its tasks; a column per run and, with `compare`, B − A. Scores are the groups
/// lm-evaluation-harness's way computes them, each with its standard error.
extension Report {
    /// One row of the suites table: a suite, one of its categories or one of its tasks, at a shot count.
    public struct SuiteRow: Hashable, Sendable, Comparable {
        /// The suite's own score comes first, then its categories, then its tasks.
        public enum Kind: Int, Sendable { case suite, category, task }

        public var suite: String
        public var shots: Int
        public var kind: Kind
        /// The suite's, the category's or the task's name.
        public var name: String

        public init(suite: String, shots: Int, kind: Kind, name: String) {
            self.suite = suite
            self.shots = shots
            self.kind = kind
            self.name = name
        }

        public static func < (a: SuiteRow, b: SuiteRow) -> Bool {
            (a.suite, a.shots, a.kind.rawValue, a.name) < (b.suite, b.shots, b.kind.rawValue, b.name)
        }
    }

    /// A score (%) and its standard error, as a suite run's results file gives it.
    public struct SuiteScore: Sendable, Equatable {
        public var score: Double
        public var stderr: Double?
    }

    /// Whether this report is over suite runs (`Report.init` refuses suite and bench runs together).
    public var isSuiteReport: Bool { runs.first?.results.settings.suite != nil }

    /// A suite run's scores by row: its suites' and categories' groups, and the tasks of suites that average tasks.
    static func suiteScores(_ results: EvalResultsFile) -> [SuiteRow: SuiteScore] {
        guard let runSuite = results.settings.suite else { return [:] }
        // Category groups do not name their suite: it is the suite whose tasks carry the category.
        var owner: [String: String] = [:]
        for (_, info) in results.taskInfo.sorted(by: { $0.key < $1.key }) where info.aggregate != nil {
            for category in info.categories where owner[category] == nil { owner[category] = info.benchmark }
        }
        var scores: [SuiteRow: SuiteScore] = [:]
        // A row met twice (not something eval writes) keeps its first value.
        for group in results.groups {
            guard let shots = group.shots else { continue }
            let row: SuiteRow
            switch group.kind {
            case "suite": row = SuiteRow(suite: group.name, shots: shots, kind: .suite, name: group.name)
            case "category": row = SuiteRow(suite: owner[group.name] ?? runSuite, shots: shots, kind: .category, name: group.name)
            default: continue
            }
            if scores[row] == nil { scores[row] = SuiteScore(score: group.score, stderr: group.stderr) }
        }
        for task in results.tasks {
            guard let info = results.taskInfo[task.task], info.aggregate == .mean else { continue }
            let row = SuiteRow(suite: info.benchmark, shots: task.shots, kind: .task, name: task.task)
            if scores[row] == nil { scores[row] = SuiteScore(score: task.score, stderr: task.stderr) }
        }
        return scores
    }

    /// Every row of any run, by suite, shot count, kind (suite, categories, tasks) and name.
    public var suiteRows: [SuiteRow] { Set(runs.flatMap(\.suiteScores.keys)).sorted() }

    /// The suites of any run, sorted.
    public var suites: [String] { Set(suiteRows.map(\.suite)).sorted() }

    public func suiteScore(run: Int, row: SuiteRow) -> SuiteScore? { runs[run].suiteScores[row] }

    /// With `compare`: B − A of a row where both runs have it.
    public func suiteDelta(_ row: SuiteRow) -> Double? {
        guard compare else { return nil }
        return Self.delta(suiteScore(run: 0, row: row)?.score, suiteScore(run: 1, row: row)?.score)
    }

    /// How a suite combines its tasks, from the first run that has one of them.
    public func suiteAggregation(_ suite: String) -> SuiteAggregation? {
        for run in runs {
            for (_, info) in run.results.taskInfo.sorted(by: { $0.key < $1.key }) where info.benchmark == suite {
                if let aggregate = info.aggregate { return aggregate }
            }
        }
        return nil
    }

    /// The suite a task belongs to, from the first run that has it.
    public func suiteOf(task: String) -> String? {
        runs.lazy.compactMap { $0.results.taskInfo[task]?.benchmark }.first
    }

    /// Whether two runs of one suite were evaluated on different benches (e.g. other data, another subset).
    public var suiteBenchesDiffer: Bool {
        let hashes = Dictionary(grouping: runs) { $0.results.settings.suite ?? "" }.mapValues { Set($0.map(\.results.benchHash)) }
        return hashes.values.contains { $0.count > 1 }
    }

    /// "45.3 ± 1.2", or "45.3" without an error.
    public static func scoreText(_ score: SuiteScore) -> String {
        score.stderr.map { "\(format(score.score)) ± \(format($0))" } ?? format(score.score)
    }

    /// What a suite's numbers are, in words.
    public static func aggregationText(_ aggregate: SuiteAggregation?) -> String {
        switch aggregate {
        case .weightBySize: "categories and the suite weight tasks by their instances; standard errors pooled as lm-evaluation-harness pools them"
        case .mean: "every task counts once: a category is the mean of its tasks, the suite the mean of its categories (of its tasks where it has none)"
        case nil: "aggregation not recorded"
        }
    }

    /// The label of a row in a table: "all" for the suite's own score, a category's name, a task as code.
    static func suiteRowMarkdown(_ row: SuiteRow) -> String {
        switch row.kind {
        case .suite: "all"
        case .category: markdownText(row.name)
        case .task: markdownCode(row.name, inTable: true)
        }
    }

    /// The suites' sections of the Markdown report: the comparison table, how each suite aggregates, every task.
    func suiteMarkdownSections() -> [String] {
        var lines = ["## Suites", ""]
        lines.append("Scores (%) ± standard error; \"all\" is the suite's score, then its categories and (for suites that average tasks) its tasks."
                     + (compare ? " Δ is B − A, in points; \"—\" where a run lacks the row." : " \"—\" where a run lacks the row."))
        lines.append("")
        var header = ["suite", "shots", "group"] + runs.map { Self.markdownText($0.label) }
        if compare { header.append("Δ B − A") }
        lines.append(Self.markdownRow(header))
        lines.append(Self.markdownRow(["---", "--:", "---"] + runs.map { _ in "--:" } + (compare ? ["--:"] : [])))
        for row in suiteRows {
            var cells = [Self.markdownText(row.suite), String(row.shots), Self.suiteRowMarkdown(row)]
            cells += runs.indices.map { run in suiteScore(run: run, row: row).map(Self.scoreText) ?? "—" }
            if compare { cells.append(suiteDelta(row).map(Self.signed) ?? "—") }
            lines.append(Self.markdownRow(cells))
        }
        lines.append("")
        for suite in suites {
            lines.append("- \(Self.markdownText(suite)): \(Self.markdownText(Self.aggregationText(suiteAggregation(suite))))")
        }
        lines.append("")

        let rows = taskRows.sorted { (suiteOf(task: $0.task) ?? "", $0.task, $0.shots) < (suiteOf(task: $1.task) ?? "", $1.task, $1.shots) }
        lines += taskTableMarkdown(rows, group: ("suite", "---", { Self.markdownText(suiteOf(task: $0.task) ?? "") })) {
            Self.scoreText(SuiteScore(score: $0.score, stderr: $0.stderr))
        }
        return lines
    }
}
