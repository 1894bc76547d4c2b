import Foundation
import OPTBench
import Testing
@testable import OPTEval

/// `optiml report` over suite runs: a row per suite and shot count, its categories or tasks, a column per run.
@Suite("Suite report")
struct SuiteReportTests {
    /// A suite run's results as `optiml eval --suite` writes them; groups are (kind, name, shots, score, stderr).
    static func results(model: String, suite: String, aggregate: SuiteAggregation, shots: [Int], categories: [String: String],
                        tasks: [(task: String, shots: Int, score: Double, stderr: Double)],
                        groups: [(kind: String, name: String, shots: Int, score: Double, stderr: Double)]) -> EvalResultsFile {
        var settings = EvalSettings()
        settings.suite = suite
        settings.levels = []
        settings.shots = shots
        settings.calibrate = false
        let infos = Dictionary(uniqueKeysWithValues: Set(tasks.map(\.task)).map {
            ($0, TaskInfo(benchmark: suite, categories: [categories[$0] ?? suite], level: 0, primaryMetric: "acc", aggregate: aggregate))
        })
        return EvalResultsFile(
            model: model, modelIdentity: nil, benchHash: String(repeating: "cd", count: 32), settings: settings, taskInfo: infos,
            tasks: tasks.map { TaskResult(task: $0.task, shots: $0.shots, level: 0, instances: 50, metrics: ["acc": $0.score], stderr: $0.stderr,
                                          primaryMetric: "acc", score: $0.score) },
            groups: groups.map { GroupResult(kind: $0.kind, name: $0.name, level: 0, shots: $0.shots, tasks: 1, score: $0.score,
                                             stderr: $0.stderr, instances: 50) })
    }

    static let mmluCategories = ["mmlu_anatomy": "stem", "mmlu_philosophy": "humanities", "mmlu_sociology": "social_sciences"]

    /// A: 0- and 5-shot, without social sciences. B: 0-shot only, with them.
    static let mmluA = results(
        model: "/models/opt-1.3b", suite: "mmlu", aggregate: .weightBySize, shots: [0, 5], categories: mmluCategories,
        tasks: [("mmlu_anatomy", 0, 30.0, 1.5), ("mmlu_philosophy", 0, 40.0, 2.0), ("mmlu_anatomy", 5, 31.3, 1.6), ("mmlu_philosophy", 5, 42.5, 2.1)],
        groups: [("category", "humanities", 0, 40.0, 2.0), ("category", "stem", 0, 30.0, 1.5), ("suite", "mmlu", 0, 35.0, 1.3),
                 ("category", "humanities", 5, 42.5, 2.1), ("category", "stem", 5, 31.3, 1.6), ("suite", "mmlu", 5, 36.9, 1.4)])
    static let mmluB = results(
        model: "facebook/opt-iml-1.3b", suite: "mmlu", aggregate: .weightBySize, shots: [0], categories: mmluCategories,
        tasks: [("mmlu_anatomy", 0, 33.1, 1.6), ("mmlu_philosophy", 0, 45.3, 2.2), ("mmlu_sociology", 0, 50.0, 3.0)],
        groups: [("category", "humanities", 0, 45.3, 2.2), ("category", "social_sciences", 0, 50.0, 3.0), ("category", "stem", 0, 33.1, 1.6),
                 ("suite", "mmlu", 0, 39.2, 1.2)])

    /// A suite that averages its tasks (no categories); B has a task A lacks.
    static let meanA = results(
        model: "/models/opt-1.3b", suite: "opt14", aggregate: .mean, shots: [0], categories: [:],
        tasks: [("copa", 0, 70.0, 4.6), ("piqa", 0, 60.0, 1.1)], groups: [("suite", "opt14", 0, 65.0, 2.4)])
    static let meanB = results(
        model: "facebook/opt-iml-1.3b", suite: "opt14", aggregate: .mean, shots: [0], categories: [:],
        tasks: [("copa", 0, 68.5, 4.7), ("hellaswag", 0, 41.0, 0.5), ("piqa", 0, 62.5, 1.1)], groups: [("suite", "opt14", 0, 57.3, 1.6)])

    static let mmluRows: [[String]] = [
        ["mmlu", "0", "all", "35.0 ± 1.3", "39.2 ± 1.2", "+4.2"],
        ["mmlu", "0", "humanities", "40.0 ± 2.0", "45.3 ± 2.2", "+5.3"],
        ["mmlu", "0", "social\\_sciences", "—", "50.0 ± 3.0", "—"],
        ["mmlu", "0", "stem", "30.0 ± 1.5", "33.1 ± 1.6", "+3.1"],
        ["mmlu", "5", "all", "36.9 ± 1.4", "—", "—"],
        ["mmlu", "5", "humanities", "42.5 ± 2.1", "—", "—"],
        ["mmlu", "5", "stem", "31.3 ± 1.6", "—", "—"],
    ]
    static let meanRows: [[String]] = [
        ["opt14", "0", "all", "65.0 ± 2.4", "57.3 ± 1.6", "-7.7"],
        ["opt14", "0", "`copa`", "70.0 ± 4.6", "68.5 ± 4.7", "-1.5"],
        ["opt14", "0", "`hellaswag`", "—", "41.0 ± 0.5", "—"],
        ["opt14", "0", "`piqa`", "60.0 ± 1.1", "62.5 ± 1.1", "+2.5"],
    ]

    @Test("MMLU compared: the suite and its categories per shot count, ± standard error, B − A, — where a run lacks the row")
    func mmluCompare() throws {
        let report = try Report(results: [("a/results.json", Self.mmluA), ("b/results.json", Self.mmluB)], compare: true)
        #expect(report.isSuiteReport)
        let markdown = report.markdown()
        #expect(markdown.contains("| suite | shots | group | opt-1.3b | opt-iml-1.3b | Δ B − A |\n| --- | --: | --- | --: | --: | --: |\n"))
        #expect(ReportTests.table(after: "## Suites", in: markdown) == Self.mmluRows)
        #expect(markdown.contains("- mmlu: categories and the suite weight tasks by their instances"))
        #expect(markdown.contains("- settings: suite mmlu · test split · shots 0, 5 · seed 0"))
        #expect(!markdown.contains("## Scores by level") && !markdown.contains("Level "))
        let tasks = ReportTests.table(after: "<summary>5 task results (task × shot count)</summary>", in: markdown)
        #expect(tasks.first == ["`mmlu_anatomy`", "mmlu", "0", "acc", "30.0 ± 1.5", "50", "33.1 ± 1.6", "50", "+3.1"])
        #expect(tasks.last == ["`mmlu_sociology`", "mmlu", "0", "acc", "—", "—", "50.0 ± 3.0", "50", "—"])
    }

    @Test("a suite that averages tasks: a row per task under the suite's")
    func meanSuiteCompare() throws {
        let report = try Report(results: [("a/results.json", Self.meanA), ("b/results.json", Self.meanB)], compare: true)
        let markdown = report.markdown()
        #expect(ReportTests.table(after: "## Suites", in: markdown) == Self.meanRows)
        #expect(markdown.contains("- opt14: every task counts once"))
    }

    @Test("runs of different suites: each suite's rows, — for the run without them; without --compare a column per run")
    func differentSuitesAndColumns() throws {
        let compared = try Report(results: [("a/results.json", Self.mmluA), ("b/results.json", Self.meanB)], compare: true)
        let rows = ReportTests.table(after: "## Suites", in: compared.markdown())
        #expect(rows.count == 6 + 4)
        #expect(rows[0] == ["mmlu", "0", "all", "35.0 ± 1.3", "—", "—"])
        #expect(rows[6] == ["opt14", "0", "all", "—", "57.3 ± 1.6", "—"])
        #expect(rows[7] == ["opt14", "0", "`copa`", "—", "68.5 ± 4.7", "—"])

        let three = try Report(results: [("a/results.json", Self.meanA), ("b/results.json", Self.meanB), ("c/results.json", Self.mmluB)])
        let markdown = three.markdown()
        #expect(markdown.contains("| suite | shots | group | opt-1.3b | opt-iml-1.3b (b) | opt-iml-1.3b (c) |\n"))
        #expect(!markdown.contains("Δ"))
        let table = ReportTests.table(after: "## Suites", in: markdown)
        #expect(table.first == ["mmlu", "0", "all", "—", "—", "39.2 ± 1.2"])
        #expect(table.last == ["opt14", "0", "`piqa`", "60.0 ± 1.1", "62.5 ± 1.1", "—"])

        let single = try Report(results: [("a/results.json", Self.meanA)])
        #expect(ReportTests.table(after: "## Suites", in: single.markdown()) == [
            ["opt14", "0", "all", "65.0 ± 2.4"], ["opt14", "0", "`copa`", "70.0 ± 4.6"], ["opt14", "0", "`piqa`", "60.0 ± 1.1"],
        ])
        #expect(single.chartCount == 0 && !single.html().contains("<svg"))
    }

    @Test("the HTML page: the table's rows, a deltas chart, no bench sections")
    func html() throws {
        let report = try Report(results: [("a/results.json", Self.mmluA), ("b/results.json", Self.mmluB)], compare: true)
        let html = report.html()
        #expect(html.contains("<tr class=\"all\"><td>mmlu</td><td class=\"num\">0</td><td class=\"name\">all</td>"
            + "<td class=\"num\">35.0<small> ± 1.3</small></td><td class=\"num\">39.2<small> ± 1.2</small></td><td class=\"num pos\">+4.2</td></tr>"))
        #expect(html.contains("<tr><td>mmlu</td><td class=\"num\">0</td><td class=\"name\">social_sciences</td>"
            + "<td class=\"num missing\">—</td><td class=\"num\">50.0<small> ± 3.0</small></td><td class=\"num missing\">—</td></tr>"))
        #expect(html.contains("<tr class=\"all\"><td>mmlu</td><td class=\"num\">5</td><td class=\"name\">all</td>"
            + "<td class=\"num\">36.9<small> ± 1.4</small></td><td class=\"num missing\">—</td><td class=\"num missing\">—</td></tr>"))
        #expect(report.chartCount == 1)
        #expect(ReportTests.occurrences(of: "<svg", in: html) == 1 && ReportTests.occurrences(of: "</svg>", in: html) == 1)
        #expect(html.contains(">mmlu · 0-shot</text>") && html.contains(">+4.2</text>"))
        #expect(!html.contains("Scores by level") && !html.contains("Score against shot count"))
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))

        let mean = try Report(results: [("a/results.json", Self.meanA), ("b/results.json", Self.meanB)], compare: true).html()
        #expect(mean.contains("<tr><td>opt14</td><td class=\"num\">0</td><td class=\"name\"><code>copa</code></td>"
            + "<td class=\"num\">70.0<small> ± 4.6</small></td><td class=\"num\">68.5<small> ± 4.7</small></td><td class=\"num neg\">-1.5</td></tr>"))
    }

    @Test("suite and bench runs together are refused, naming both")
    func mixedRuns() throws {
        #expect(throws: ReportError.mixedRuns(suite: ["s/results.json"], bench: ["b/results.json"])) {
            try Report(results: [("s/results.json", Self.mmluA), ("b/results.json", ReportTests.runA)], compare: true)
        }
        let error = ReportError.mixedRuns(suite: ["s/results.json"], bench: ["b/results.json"])
        #expect(error.description.contains("s/results.json") && error.description.contains("b/results.json"))
    }

    @Test("the same input gives the same bytes, whatever the order of the results' entries")
    func determinism() throws {
        let folder = try ReportTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try ReportTests.writeRun(Self.mmluA, in: folder, name: "a"), b = try ReportTests.writeRun(Self.mmluB, in: folder, name: "b")
        let first = try Report.load(runFolders: [a, b], compare: true).write(to: folder.appendingPathComponent("one"))
        let second = try Report.load(runFolders: [a, b], compare: true).write(to: folder.appendingPathComponent("two"))
        #expect(try Data(contentsOf: first.markdown) == Data(contentsOf: second.markdown))
        #expect(try Data(contentsOf: first.html) == Data(contentsOf: second.html))

        var shuffledA = Self.mmluA, shuffledB = Self.mmluB
        shuffledA.tasks.reverse()
        shuffledA.groups.reverse()
        shuffledB.groups = shuffledB.groups.enumerated().sorted { ($0.offset % 2, $0.offset) < ($1.offset % 2, $1.offset) }.map(\.element)
        let ordered = try Report(results: [("a/results.json", Self.mmluA), ("b/results.json", Self.mmluB)], compare: true)
        let shuffled = try Report(results: [("a/results.json", shuffledA), ("b/results.json", shuffledB)], compare: true)
        #expect(ordered.markdown() == shuffled.markdown())
        #expect(ordered.html() == shuffled.html())
    }
}
