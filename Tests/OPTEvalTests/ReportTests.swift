import Foundation
import Testing
@testable import OPTEval

/// `optiml report`: results files in, Markdown and one self-contained HTML page out.
@Suite("Report")
struct ReportTests {
    static let oddTask = "task004_<&>_odd"
    static let oddCategory = "Odd <&> Category"

    /// Five tasks over the three levels; `correct[task]` is how many of its 4 instances are right at 0 and at 2 shots.
    static let infos: [String: TaskInfo] = [
        "task001_entailment": TaskInfo(benchmark: "niv2", categories: ["Textual Entailment"], level: 1, primaryMetric: "acc"),
        "task002_coreference": TaskInfo(benchmark: "niv2", categories: ["Coreference Resolution"], level: 1, primaryMetric: "acc"),
        "task003_qa": TaskInfo(benchmark: "niv2", categories: ["Question Answering"], level: 2, primaryMetric: "rougeL"),
        oddTask: TaskInfo(benchmark: "niv2", categories: [oddCategory], level: 3, primaryMetric: "acc"),
        "task005_summary": TaskInfo(benchmark: "niv2", categories: ["Summarization"], level: 3, primaryMetric: "rougeL"),
    ]

    static func results(model: String, correct: [String: [Int]]) -> EvalResultsFile {
        var scores: [InstanceScore] = []
        for (task, counts) in correct.sorted(by: { $0.key < $1.key }) {
            let metric = infos[task]!.primaryMetric
            for (shots, count) in zip([0, 2], counts) {
                for instance in 0..<4 {
                    scores.append(InstanceScore(task: task, instance: "\(task)-\(instance)", shots: shots,
                                                metrics: [metric: instance < count ? 1 : 0, "extra": 0.5]))
                }
            }
        }
        let summary = Aggregation.summarize(scores, tasks: infos, bootstrap: 30, seed: 1)
        var settings = EvalSettings()
        settings.shots = [0, 2]
        settings.limit = 4
        return EvalResultsFile(model: model, modelIdentity: nil, benchHash: String(repeating: "ab", count: 32), settings: settings, taskInfo: infos,
                               tasks: summary.tasks, groups: summary.groups)
    }

    /// A: the base model. B: better at level 1, the same at level 2, worse at level 3.
    static let runA = results(model: "/models/opt-1.3b", correct: [
        "task001_entailment": [1, 2], "task002_coreference": [2, 2], "task003_qa": [1, 1], oddTask: [3, 3], "task005_summary": [2, 2],
    ])
    static let runB = results(model: "facebook/opt-iml-1.3b", correct: [
        "task001_entailment": [3, 4], "task002_coreference": [3, 3], "task003_qa": [1, 1], oddTask: [1, 2], "task005_summary": [1, 1],
    ])

    /// A fresh folder, removed by the caller.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ReportTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `results` as `folder/name/results.json`, as optiml eval does; returns the run folder's path.
    static func writeRun(_ results: EvalResultsFile, in folder: URL, name: String) throws -> String {
        let run = folder.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(results).write(to: run.appendingPathComponent("results.json"))
        return run.path
    }

    static func compareReport() throws -> Report {
        try Report(results: [("a/results.json", runA), ("b/results.json", runB)], compare: true)
    }

    /// The rows of the Markdown table under `heading`, as cells.
    static func table(after heading: String, in markdown: String) -> [[String]] {
        let lines = markdown.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: heading) else { return [] }
        var rows: [[String]] = []
        var inTable = false
        for line in lines[(start + 1)...] {
            if line.hasPrefix("|") {
                inTable = true
                let inner = line.dropFirst(2).dropLast(2)
                rows.append(inner.components(separatedBy: " | "))
            } else if inTable || line.hasPrefix("#") {
                break
            }
        }
        return Array(rows.dropFirst(2))  // the header and its alignment row
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test("the levels table, the category tables and the task table carry the results' values")
    func markdownValues() throws {
        let report = try Self.compareReport()
        let markdown = report.markdown()

        let levelRows = Self.table(after: "## Scores by level", in: markdown)
        let levelGroups = Self.runA.groups.filter { $0.kind == "level" }
        #expect(levelRows.count == levelGroups.count, "a row per level and shot count, and the mean over shot counts")
        for row in levelRows {
            let level = Int(row[0].split(separator: " ")[1])!
            let shots = row[1] == "all" ? nil : Int(row[1])
            for (column, results) in [(2, Self.runA), (3, Self.runB)] {
                let group = try #require(results.groups.first { $0.kind == "level" && $0.level == level && $0.shots == shots })
                let parts = row[column].components(separatedBy: " ± ")
                #expect(abs(Double(parts[0])! - group.score) <= 0.050_001, "level \(level), shots \(row[1])")
                if let stderr = group.stderr {
                    #expect(parts.count == 2 && abs(Double(parts[1])! - stderr) <= 0.050_001)
                } else {
                    #expect(parts.count == 1)
                }
                #expect(row[column] == Report.scoreText(group))
            }
            let a = try #require(Self.runA.groups.first { $0.kind == "level" && $0.level == level && $0.shots == shots })
            let b = try #require(Self.runB.groups.first { $0.kind == "level" && $0.level == level && $0.shots == shots })
            #expect(row[4] == Report.signed(b.score - a.score))
        }

        let categoryRows = Self.table(after: "### Level 3 · held-out instances", in: markdown)
        #expect(categoryRows.map { $0[0] } == ["Odd \\<\\&\\> Category", "Summarization"])
        for row in categoryRows {
            let name = row[0] == "Summarization" ? "Summarization" : Self.oddCategory
            for (offset, shots) in [0, 2].enumerated() {
                let group = try #require(Self.runA.groups.first { $0.kind == "category" && $0.name == name && $0.shots == shots })
                #expect(row[2 + offset] == Report.format(group.score))
                let groupB = try #require(Self.runB.groups.first { $0.kind == "category" && $0.name == name && $0.shots == shots })
                #expect(row[5 + offset] == Report.format(groupB.score))
            }
        }

        let taskRows = Self.table(after: "<summary>10 task results (task × shot count)</summary>", in: markdown)
        #expect(taskRows.count == Self.runA.tasks.count)
        for row in taskRows {
            let task = String(row[0].dropFirst().dropLast())
            let result = try #require(Self.runA.tasks.first { $0.task == task && $0.shots == Int(row[2]) })
            #expect(Int(row[1]) == result.level && row[3] == result.primaryMetric)
            #expect(abs(Double(row[4])! - result.score) <= 0.050_001 && Int(row[5]) == result.instances)
        }
    }

    @Test("the HTML page: one <svg> per chart, every name escaped, nothing loaded from outside")
    func htmlChartsAndEscaping() throws {
        let report = try Self.compareReport()
        let html = report.html()
        // Per level a category chart and a shots chart, and the deltas chart.
        #expect(report.chartCount == 2 * 3 + 1)
        #expect(Self.occurrences(of: "<svg", in: html) == report.chartCount)
        #expect(Self.occurrences(of: "</svg>", in: html) == report.chartCount)
        #expect(html.contains("task004_&lt;&amp;&gt;_odd"))
        #expect(html.contains("Odd &lt;&amp;&gt; Category"))
        #expect(!html.contains("<&>"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("url("))
        #expect(html.contains("<details>") && html.contains("</details>"))
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))

        let single = try Report(results: [("a/results.json", Self.runA)])
        #expect(Self.occurrences(of: "<svg", in: single.html()) == 2 * 3)
        #expect(!single.markdown().contains("Δ"))
    }

    @Test("deltas are B − A: positive green, negative red")
    func deltaSigns() throws {
        let report = try Self.compareReport()
        let up = try #require(report.levelSummaryDelta(level: 1))
        let flat = try #require(report.levelSummaryDelta(level: 2))
        let down = try #require(report.levelSummaryDelta(level: 3))
        #expect(up > 0 && flat == 0 && down < 0)
        #expect(try #require(report.categoryDelta(level: 3, category: Self.oddCategory)) < 0)

        let rows = Self.table(after: "## Scores by level", in: report.markdown())
        let all = rows.filter { $0[1] == "all" }
        #expect(all.map { $0[4] } == [Report.signed(up), "0.0", Report.signed(down)])
        #expect(all[0][4].hasPrefix("+") && all[2][4].hasPrefix("-"))

        let html = report.html()
        #expect(html.contains("<td class=\"num pos\">\(Report.signed(up))</td>"))
        #expect(html.contains("<td class=\"num neg\">\(Report.signed(down))</td>"))
        #expect(html.contains("class=\"pos\"") && html.contains("fill=\"\(Report.positiveColor)\""))
        #expect(html.contains("class=\"neg\"") && html.contains("fill=\"\(Report.negativeColor)\""))

        // Swapped, the signs turn.
        let swapped = try Report(results: [("b/results.json", Self.runB), ("a/results.json", Self.runA)], compare: true)
        #expect(swapped.levelSummaryDelta(level: 1) == -up && swapped.levelSummaryDelta(level: 3) == -down)
    }

    @Test("a missing or malformed results.json is an error naming its path")
    func badResults() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(throws: ReportError.missingResults(path: empty + "/results.json")) { try Report.load(runFolders: [empty]) }
        do {
            _ = try Report.load(runFolders: [empty])
        } catch let error as ReportError {
            #expect(error.description.contains(empty + "/results.json"))
        }
        let absent = folder.appendingPathComponent("no-such-run").path
        #expect(throws: ReportError.missingResults(path: absent + "/results.json")) { try Report.load(runFolders: [absent]) }

        for (name, text, reason) in [("notjson", "not json {", "not valid JSON"),
                                     ("wrongtype", #"{"model": 3}"#, "model"),
                                     ("nogroups", #"{"model": "m", "bench_sha256": "x", "settings": {}, "tasks": []}"#, "settings")] {
            let run = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: run.appendingPathComponent("results.json"))
            let good = try Self.writeRun(Self.runA, in: folder, name: "good")
            do {
                _ = try Report.load(runFolders: [good, run.path], compare: true)
                Issue.record("\(name) was read")
            } catch let error as ReportError {
                guard case let .malformed(path, why) = error else { Issue.record("\(error)"); continue }
                #expect(path == run.path + "/results.json")
                #expect(why.contains(reason), "\(why)")
                #expect(error.description.hasPrefix(run.path + "/results.json: "))
            }
        }
    }

    @Test("a results.json path is read as it is, like its folder")
    func resultsPath() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Self.writeRun(Self.runA, in: folder, name: "old")
        let url = URL(fileURLWithPath: run).appendingPathComponent("results.json")
        let report = try Report.load(runFolders: [url.path])
        #expect(report.runs[0].path == url.path && report.runs[0].results.tasks == Self.runA.tasks)
        #expect(report.runs[0].label == "opt-1.3b")
    }

    @Test("--compare takes exactly two runs; runs of one model get their folders' names")
    func runsAndLabels() throws {
        #expect(throws: ReportError.compareNeedsTwoRuns(count: 1)) { try Report(results: [("a/results.json", Self.runA)], compare: true) }
        #expect(throws: ReportError.compareNeedsTwoRuns(count: 3)) {
            try Report(results: [("a/results.json", Self.runA), ("b/results.json", Self.runA), ("c/results.json", Self.runB)], compare: true)
        }
        #expect(throws: ReportError.noRuns) { try Report.load(runFolders: []) }
        let report = try Report(results: [("runs/first/results.json", Self.runA), ("runs/second/results.json", Self.runA),
                                          ("x/results.json", Self.runB)])
        #expect(report.runs.map(\.label) == ["opt-1.3b (first)", "opt-1.3b (second)", "opt-iml-1.3b"])
        let twice = try Report(results: [("a/results.json", Self.runA), ("a/results.json", Self.runA)])
        #expect(twice.runs.map(\.label) == ["opt-1.3b (a) #1", "opt-1.3b (a) #2"])
    }

    @Test("the same input gives the same bytes, whatever the order of the results' entries")
    func determinism() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try Self.writeRun(Self.runA, in: folder, name: "a"), b = try Self.writeRun(Self.runB, in: folder, name: "b")
        let first = try Report.load(runFolders: [a, b], compare: true).write(to: folder.appendingPathComponent("one"))
        let second = try Report.load(runFolders: [a, b], compare: true).write(to: folder.appendingPathComponent("two"))
        #expect(try Data(contentsOf: first.markdown) == Data(contentsOf: second.markdown))
        #expect(try Data(contentsOf: first.html) == Data(contentsOf: second.html))

        var shuffledA = Self.runA, shuffledB = Self.runB
        shuffledA.tasks.reverse()
        shuffledA.groups.reverse()
        shuffledB.groups = shuffledB.groups.enumerated().sorted { ($0.offset % 3, $0.offset) < ($1.offset % 3, $1.offset) }.map(\.element)
        let ordered = try Report(results: [("a/results.json", Self.runA), ("b/results.json", Self.runB)], compare: true)
        let shuffled = try Report(results: [("a/results.json", shuffledA), ("b/results.json", shuffledB)], compare: true)
        #expect(ordered.markdown() == shuffled.markdown())
        #expect(ordered.html() == shuffled.html())
    }
}
