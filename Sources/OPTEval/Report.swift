import Foundation
import OPTSupport

/// Why a report could not be made; every case about a file names it.
public enum ReportError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No results.json where a run folder should have one.
    case missingResults(path: String)
    /// The file exists but could not be read.
    case unreadable(path: String, reason: String)
    /// The file is not a results file `optiml eval` writes.
    case malformed(path: String, reason: String)
    /// `--compare` takes exactly two runs, A then B.
    case compareNeedsTwoRuns(count: Int)
    case noRuns
    /// Suite runs (`optiml eval --suite`) and bench runs have different tables; a report takes one kind.
    case mixedRuns(suite: [String], bench: [String])

    /// The results file the error is about, if any.
    public var path: String? {
        switch self {
        case let .missingResults(path), let .unreadable(path, _), let .malformed(path, _): path
        case .compareNeedsTwoRuns, .noRuns, .mixedRuns: nil
        }
    }

    public var description: String {
        switch self {
        case let .missingResults(path):
            "\(path): no such file (a run folder is the --out folder of optiml eval, holding results.json)"
        case let .unreadable(path, reason): "\(path): cannot be read: \(reason)"
        case let .malformed(path, reason): "\(path): not an optiml eval results file: \(reason)"
        case let .compareNeedsTwoRuns(count): "--compare needs exactly 2 runs (A, then B), got \(count)"
        case .noRuns: "no run folders given"
        case let .mixedRuns(suite, bench):
            "suite runs (\(suite.joined(separator: ", "))) and bench runs (\(bench.joined(separator: ", "))) cannot share a report: "
                + "give runs of one kind (optiml eval --suite, or the bench's levels)"
        }
    }
}

/// One run of a report: its results file and the name its columns carry.
public struct ReportRun: Sendable {
    /// The results file, as given (a run folder + "/results.json").
    public var path: String
    /// The column name: the model's last path component, made unique among the report's runs.
    public var label: String
    public var results: EvalResultsFile

    struct LevelKey: Hashable { let level: Int; let shots: Int? }
    struct CategoryKey: Hashable { let level: Int; let name: String; let shots: Int }
    struct TaskKey: Hashable { let task: String; let shots: Int }

    let levelGroups: [LevelKey: GroupResult]
    let categoryGroups: [CategoryKey: GroupResult]
    let taskResults: [TaskKey: TaskResult]
    /// A suite run's rows (empty for a bench run).
    let suiteScores: [Report.SuiteRow: Report.SuiteScore]

    init(path: String, label: String, results: EvalResultsFile) {
        self.path = path
        self.label = label
        self.results = results
        // A key met twice (not something eval writes) keeps its first value.
        levelGroups = Dictionary(results.groups.filter { $0.kind == "level" }.map { (LevelKey(level: $0.level, shots: $0.shots), $0) },
                                 uniquingKeysWith: { first, _ in first })
        categoryGroups = Dictionary(results.groups.compactMap { group in
            group.kind == "category" ? group.shots.map { (CategoryKey(level: group.level, name: group.name, shots: $0), group) } : nil
        }, uniquingKeysWith: { first, _ in first })
        taskResults = Dictionary(results.tasks.map { (TaskKey(task: $0.task, shots: $0.shots), $0) }, uniquingKeysWith: { first, _ in first })
        suiteScores = Report.suiteScores(results)
    }
}

/// A report over one or more evaluation runs (`optiml eval --out` folders): the paper's table of
/// levels × shot counts, category scores, scores against shot count and every task, as Markdown
/// (here) and as one self-contained HTML page with inline SVG charts (`html()`). With `compare`,
/// exactly two runs, A then B, and the deltas B − A. The same input gives the same bytes.
///
/// Suite runs (results with `settings.suite`) get the suites' layout instead (ReportSuites.swift): a row
/// per suite and shot count, its categories and tasks, a column per run. Suite and bench runs together
/// are refused (`ReportError.mixedRuns`): their tables share no rows.
public struct Report: Sendable {
    public let runs: [ReportRun]
    public let compare: Bool

    /// A report over decoded results files, in the order given.
    public init(results: [(path: String, file: EvalResultsFile)], compare: Bool = false) throws {
        guard !results.isEmpty else { throw ReportError.noRuns }
        if compare && results.count != 2 { throw ReportError.compareNeedsTwoRuns(count: results.count) }
        let suiteRuns = results.filter { $0.file.settings.suite != nil }
        if !suiteRuns.isEmpty && suiteRuns.count != results.count {
            throw ReportError.mixedRuns(suite: suiteRuns.map(\.path), bench: results.filter { $0.file.settings.suite == nil }.map(\.path))
        }
        let labels = Self.labels(results.map { ($0.path, $0.file.model) })
        runs = zip(results, labels).map { ReportRun(path: $0.path, label: $1, results: $0.file) }
        self.compare = compare
    }

    /// Reads `results.json` from each run folder (a path to a results file itself is read as it is).
    public static func load(runFolders: [String], compare: Bool = false) throws -> Report {
        guard !runFolders.isEmpty else { throw ReportError.noRuns }
        if compare && runFolders.count != 2 { throw ReportError.compareNeedsTwoRuns(count: runFolders.count) }
        return try Report(results: runFolders.map(loadResults), compare: compare)
    }

    /// The results file of a run folder, decoded.
    public static func loadResults(runFolder: String) throws -> (path: String, file: EvalResultsFile) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: runFolder, isDirectory: &isDirectory)
        let path = exists && !isDirectory.boolValue ? runFolder : (runFolder.hasSuffix("/") ? runFolder : runFolder + "/") + Evaluation.resultsFile
        guard FileManager.default.fileExists(atPath: path) else { throw ReportError.missingResults(path: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ReportError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return (path, try decode(data, path: path))
    }

    /// Decodes a results file's bytes; errors name `path` and what is wrong where.
    public static func decode(_ data: Data, path: String) throws -> EvalResultsFile {
        do {
            return try JSONDecoder().decode(EvalResultsFile.self, from: data)
        } catch {
            throw ReportError.malformed(path: path, reason: DecodingProblem.describe(error, json: data))
        }
    }

    /// Column names: the model's last path component; where two runs share it, the run folder is added.
    static func labels(_ runs: [(path: String, model: String)]) -> [String] {
        func short(_ model: String) -> String {
            let trimmed = model.hasSuffix("/") ? String(model.dropLast()) : model
            return trimmed.split(separator: "/").last.map(String.init) ?? (model.isEmpty ? "model" : model)
        }
        func folder(_ path: String) -> String {
            let parts = path.split(separator: "/").map(String.init)
            return parts.count >= 2 ? parts[parts.count - 2] : path
        }
        var labels = runs.map { short($0.model) }
        let counts = Dictionary(labels.map { ($0, 1) }, uniquingKeysWith: +)
        labels = zip(labels, runs).map { counts[$0, default: 0] > 1 ? "\($0) (\(folder($1.path)))" : $0 }
        // Still equal (the same folder name twice): number them.
        var seen: [String: Int] = [:]
        return labels.map { label in
            let count = labels.filter { $0 == label }.count
            guard count > 1 else { return label }
            seen[label, default: 0] += 1
            return "\(label) #\(seen[label]!)"
        }
    }

    // MARK: The numbers

    /// Levels in any run, ascending.
    public var levels: [Int] {
        Set(runs.flatMap { $0.results.groups.filter { $0.kind == "level" || $0.kind == "category" }.map(\.level) + $0.results.tasks.map(\.level) })
            .sorted()
    }

    /// Shot counts of a level in any run, ascending.
    public func shotCounts(level: Int) -> [Int] {
        Set(runs.flatMap { run in
            run.results.groups.filter { $0.level == level }.compactMap(\.shots) + run.results.tasks.filter { $0.level == level }.map(\.shots)
        }).sorted()
    }

    /// Whether any run has the mean over shot counts of the level.
    public func hasAllShots(level: Int) -> Bool {
        runs.contains { $0.levelGroups[.init(level: level, shots: nil)] != nil }
    }

    /// The level's group of a run at a shot count (nil: the mean over shot counts).
    public func levelResult(run: Int, level: Int, shots: Int?) -> GroupResult? {
        runs[run].levelGroups[.init(level: level, shots: shots)]
    }

    /// The level's summary score of a run: its mean over shot counts, or its only shot count's score.
    public func levelSummary(run: Int, level: Int) -> Double? {
        if let all = levelResult(run: run, level: level, shots: nil) { return all.score }
        let perShot = runs[run].levelGroups.values.filter { $0.level == level && $0.shots != nil }
        return perShot.count == 1 ? perShot[0].score : nil
    }

    /// Category names of a level in any run, sorted.
    public func categories(level: Int) -> [String] {
        Set(runs.flatMap { $0.categoryGroups.keys.filter { $0.level == level }.map(\.name) }).sorted()
    }

    public func categoryResult(run: Int, level: Int, category: String, shots: Int) -> GroupResult? {
        runs[run].categoryGroups[.init(level: level, name: category, shots: shots)]
    }

    /// A category's summary score in a run: the mean of its scores over the run's shot counts.
    public func categorySummary(run: Int, level: Int, category: String) -> Double? {
        let scores = shotCounts(level: level).compactMap { categoryResult(run: run, level: level, category: category, shots: $0)?.score }
        return scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count)
    }

    /// Number of tasks of a category (the first run and shot count that has it).
    public func categoryTasks(level: Int, category: String) -> Int? {
        for run in runs.indices {
            for shots in shotCounts(level: level) {
                if let group = categoryResult(run: run, level: level, category: category, shots: shots) { return group.tasks }
            }
        }
        return nil
    }

    /// B − A where both are known.
    public static func delta(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b else { return nil }
        return b - a
    }

    /// With `compare`: B − A of a level at a shot count (nil: the mean over shot counts).
    public func levelDelta(level: Int, shots: Int?) -> Double? {
        guard compare else { return nil }
        return Self.delta(levelResult(run: 0, level: level, shots: shots)?.score, levelResult(run: 1, level: level, shots: shots)?.score)
    }

    /// With `compare`: B − A of the level summaries.
    public func levelSummaryDelta(level: Int) -> Double? {
        guard compare else { return nil }
        return Self.delta(levelSummary(run: 0, level: level), levelSummary(run: 1, level: level))
    }

    /// With `compare`: B − A of a category's summaries.
    public func categoryDelta(level: Int, category: String) -> Double? {
        guard compare else { return nil }
        return Self.delta(categorySummary(run: 0, level: level, category: category), categorySummary(run: 1, level: level, category: category))
    }

    /// What a summary score averages, e.g. "mean over 0- and 5-shot" or "0-shot".
    public func summaryCaption(level: Int) -> String {
        let shots = shotCounts(level: level)
        switch shots.count {
        case 0: return "no scores"
        case 1: return "\(shots[0])-shot"
        default:
            let names = shots.map(String.init)
            return "mean over " + names.dropLast().joined(separator: "-, ") + "- and " + names.last! + "-shot"
        }
    }

    /// One row of the per-task table: a task at a shot count, in any run.
    public struct TaskRow: Sendable, Equatable {
        public var task: String
        public var level: Int
        public var shots: Int
        public var primaryMetric: String
    }

    /// Every (task, shots) of any run, by level, task and shots.
    public var taskRows: [TaskRow] {
        var rows: [ReportRun.TaskKey: TaskRow] = [:]
        for run in runs {
            for result in run.results.tasks where rows[.init(task: result.task, shots: result.shots)] == nil {
                rows[.init(task: result.task, shots: result.shots)] = TaskRow(task: result.task, level: result.level, shots: result.shots,
                                                                             primaryMetric: result.primaryMetric)
            }
        }
        return rows.values.sorted { ($0.level, $0.task, $0.shots) < ($1.level, $1.task, $1.shots) }
    }

    public func taskResult(run: Int, task: String, shots: Int) -> TaskResult? {
        runs[run].taskResults[.init(task: task, shots: shots)]
    }

    /// Distinct tasks of a run.
    public func taskCount(run: Int) -> Int { Set(runs[run].results.tasks.map(\.task)).count }

    /// Whether the runs were evaluated on different benches.
    public var benchesDiffer: Bool { Set(runs.map(\.results.benchHash)).count > 1 }

    // MARK: Words and numbers

    public static func levelName(_ level: Int) -> String {
        switch level {
        case 1: "fully held-out categories"
        case 2: "held-out tasks"
        case 3: "held-out instances"
        default: "other"
        }
    }

    public static func levelTitle(_ level: Int) -> String { "Level \(level) · \(levelName(level))" }

    /// A percentage with one decimal ("-0.0" is "0.0").
    public static func format(_ value: Double) -> String {
        let text = String(format: "%.1f", value)
        return text == "-0.0" ? "0.0" : text
    }

    /// A delta with its sign: "+1.5", "-2.0", "0.0".
    public static func signed(_ value: Double) -> String {
        let text = format(value)
        return text == "0.0" || text.hasPrefix("-") ? text : "+" + text
    }

    /// "21.9 ± 6.1", or "21.9" without an error.
    public static func scoreText(_ group: GroupResult) -> String {
        group.stderr.map { "\(format(group.score)) ± \(format($0))" } ?? format(group.score)
    }

    /// The first characters of the bench's SHA-256.
    public static func benchPrefix(_ hash: String) -> String { String(hash.prefix(12)) }

    /// The run's settings in one line.
    public static func settingsSummary(_ settings: EvalSettings) -> String {
        if let suite = settings.suite {
            var parts = ["suite \(suite)", "\(settings.split.rawValue) split", "shots " + settings.shots.map(String.init).joined(separator: ", ")]
            if let limit = settings.limit { parts.append("≤ \(limit) instances per task") }
            parts.append("seed \(settings.seed)")
            if let shard = settings.shard, let shards = settings.shards, shards > 1 { parts.append("shard \(shard + 1) of \(shards)") }
            return parts.joined(separator: " · ")
        }
        var parts = ["\(settings.split.rawValue) split", "levels " + settings.levels.map(String.init).joined(separator: ", "),
                     "shots " + settings.shots.map(String.init).joined(separator: ", "), "\(settings.style.rawValue) prompts"]
        if let limit = settings.limit { parts.append("≤ \(limit) instances per task") }
        parts.append("seed \(settings.seed)")
        parts.append("≤ \(settings.maxNewTokens) new tokens")
        parts.append(settings.calibrate ? "calibrated accuracy" : "no calibration")
        if let shard = settings.shard, let shards = settings.shards, shards > 1 { parts.append("shard \(shard + 1) of \(shards)") }
        return parts.joined(separator: " · ")
    }

    /// Text for a Markdown table cell or line: backslash-escapes what Markdown would read as markup.
    static func markdownText(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\", "`", "*", "_", "[", "]", "<", ">", "|", "&", "#", "~": out += "\\" + String(character)
            case "\n", "\r", "\t": out += " "
            default: out.append(character)
            }
        }
        return out
    }

    /// A Markdown code span holding `text` as it is (a fence longer than any backtick run inside).
    static func markdownCode(_ text: String, inTable: Bool) -> String {
        var longest = 0, run = 0
        for character in text { if character == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        let fence = String(repeating: "`", count: longest + 1)
        var body = text.replacingOccurrences(of: "\n", with: " ")
        if inTable { body = body.replacingOccurrences(of: "|", with: "\\|") }
        let pad = body.hasPrefix("`") || body.hasSuffix("`") ? " " : ""
        return fence + pad + body + pad + fence
    }

    /// "A", "B" with --compare, else "1", "2", …
    public func runTag(_ run: Int) -> String {
        compare ? (run == 0 ? "A" : "B") : String(run + 1)
    }

    // MARK: Markdown

    /// The report as Markdown (GitHub flavoured: tables, `<details>`).
    public func markdown() -> String {
        var lines: [String] = ["# OPT-IML evaluation report", ""]
        lines.append(compare ? "Comparing B = \(Self.markdownText(runs[1].label)) against A = \(Self.markdownText(runs[0].label)); deltas are B − A, in points."
                     : isSuiteReport ? "Scores are percentages, aggregated over instances as lm-evaluation-harness does."
                     : "Scores are percentages: the mean of category scores (instance → task → category → level).")
        lines.append("")
        lines.append("## Runs")
        lines.append("")
        for (index, run) in runs.enumerated() {
            let results = run.results
            lines.append("### \(runTag(index)): \(Self.markdownText(run.label))")
            lines.append("")
            lines.append("- model: \(Self.markdownCode(results.model, inTable: false))")
            lines.append("- bench: \(Self.markdownCode(Self.benchPrefix(results.benchHash), inTable: false))")
            lines.append("- settings: \(Self.markdownText(Self.settingsSummary(results.settings)))")
            lines.append("- results: \(Self.markdownCode(run.path, inTable: false)) (\(taskCount(run: index)) tasks)")
            lines.append("")
        }
        if isSuiteReport {
            if suiteBenchesDiffer {
                lines.append("> **Note:** runs of one suite were evaluated on different benches; their scores may not be comparable.")
                lines.append("")
            }
            return (lines + suiteMarkdownSections()).joined(separator: "\n")
        }
        if benchesDiffer {
            lines.append("> **Note:** the runs were evaluated on different benches; their scores may not be comparable.")
            lines.append("")
        }

        lines.append("## Scores by level")
        lines.append("")
        lines.append("Mean of category scores (%) ± bootstrap standard error; \"all\" is the mean over shot counts.")
        lines.append("")
        var header = ["level", "shots"] + runs.map { Self.markdownText($0.label) }
        if compare { header.append("Δ B − A") }
        lines.append(Self.markdownRow(header))
        lines.append(Self.markdownRow(["---", "---"] + runs.map { _ in "--:" } + (compare ? ["--:"] : [])))
        for level in levels {
            for shots in levelShotRows(level) {
                var cells = [Self.markdownText(Self.levelTitle(level)), shots.map(String.init) ?? "all"]
                cells += runs.indices.map { run in levelResult(run: run, level: level, shots: shots).map(Self.scoreText) ?? "—" }
                if compare { cells.append(levelDelta(level: level, shots: shots).map(Self.signed) ?? "—") }
                lines.append(Self.markdownRow(cells))
            }
        }
        lines.append("")

        lines.append("## Categories")
        lines.append("")
        for level in levels {
            let categories = categories(level: level)
            guard !categories.isEmpty else { continue }
            let shots = shotCounts(level: level)
            let summary = shots.count > 1
            lines.append("### \(Self.markdownText(Self.levelTitle(level)))")
            lines.append("")
            var header = ["category", "tasks"]
            for run in runs {
                header += shots.map { "\(Self.markdownText(run.label)) \($0)-shot" }
                if summary { header.append("\(Self.markdownText(run.label)) mean") }
            }
            if compare { header.append("Δ B − A (\(Self.markdownText(summaryCaption(level: level))))") }
            lines.append(Self.markdownRow(header))
            lines.append(Self.markdownRow(["---", "--:"] + Array(repeating: "--:", count: header.count - 2)))
            for category in categories {
                var cells = [Self.markdownText(category), categoryTasks(level: level, category: category).map(String.init) ?? "—"]
                for run in runs.indices {
                    cells += shots.map { categoryResult(run: run, level: level, category: category, shots: $0).map { Self.format($0.score) } ?? "—" }
                    if summary { cells.append(categorySummary(run: run, level: level, category: category).map(Self.format) ?? "—") }
                }
                if compare { cells.append(categoryDelta(level: level, category: category).map(Self.signed) ?? "—") }
                lines.append(Self.markdownRow(cells))
            }
            lines.append("")
        }

        lines += taskTableMarkdown(taskRows, group: ("level", "--:", { String($0.level) })) { Self.format($0.score) }
        return lines.joined(separator: "\n")
    }

    /// The collapsible "Tasks" section: task, a grouping column (level or suite), shots and metric, then each run's
    /// score and instances, and with `compare` B − A.
    func taskTableMarkdown(_ rows: [TaskRow], group: (title: String, alignment: String, value: (TaskRow) -> String),
                           score: (TaskResult) -> String) -> [String] {
        var lines = ["## Tasks", "", "<details>", "<summary>\(rows.count) task results (task × shot count)</summary>", ""]
        var header = ["task", group.title, "shots", "metric"]
        for run in runs { header += ["\(Self.markdownText(run.label)) score", "n"] }
        if compare { header.append("Δ B − A") }
        lines.append(Self.markdownRow(header))
        lines.append(Self.markdownRow(["---", group.alignment, "--:", "---"] + Array(repeating: "--:", count: header.count - 4)))
        for row in rows {
            var cells = [Self.markdownCode(row.task, inTable: true), group.value(row), String(row.shots), Self.markdownText(row.primaryMetric)]
            for run in runs.indices {
                let result = taskResult(run: run, task: row.task, shots: row.shots)
                cells += [result.map(score) ?? "—", result.map { String($0.instances) } ?? "—"]
            }
            if compare {
                cells.append(Self.delta(taskResult(run: 0, task: row.task, shots: row.shots)?.score,
                                        taskResult(run: 1, task: row.task, shots: row.shots)?.score).map(Self.signed) ?? "—")
            }
            lines.append(Self.markdownRow(cells))
        }
        return lines + ["", "</details>", ""]
    }

    /// The rows of a level in the scores table: each shot count, then "all" (nil) where a run has it.
    public func levelShotRows(_ level: Int) -> [Int?] {
        shotCounts(level: level).map { Optional($0) } + (hasAllShots(level: level) ? [nil] : [])
    }

    static func markdownRow(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }

    /// Writes report.md and report.html into `folder` (made if missing), atomically; returns their paths.
    @discardableResult
    public func write(to folder: URL) throws -> (markdown: URL, html: URL) {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let markdownURL = folder.appendingPathComponent("report.md"), htmlURL = folder.appendingPathComponent("report.html")
        try AtomicFile.write(Data(markdown().utf8), to: markdownURL)
        try AtomicFile.write(Data(html().utf8), to: htmlURL)
        return (markdownURL, htmlURL)
    }
}
