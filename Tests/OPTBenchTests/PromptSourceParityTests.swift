import Foundation
import OPTData
import OPTTemplate
import Testing
@testable import OPTBench

/// Every PromptSource template renders as PromptSource 0.2.3's own `Template.apply` and
/// `get_answer_choices_list` do, over rows made with each dataset's schema (`tools/make_promptsource_fixtures.py`).
@Suite("PromptSource parity")
struct PromptSourceParityTests {
    static let fixtures = Paths.packageRoot.appendingPathComponent("Tests/Fixtures/promptsource")

    /// One line of `expected.jsonl`.
    struct Expected: Decodable {
        var templates: String
        var template: String
        var row: Int
        var parts: [String]?
        var answer_choices: [String]?
        var alternatives: [[String]]?
        var error: String?
    }

    @Test("all 2,085 templates over every fixture row: byte-identical parts and answer choices (random draws: one of PromptSource's possible results)",
          .enabled(if: Paths.hasPromptSource, "needs ../shared/data/promptsource"))
    func everyTemplate() throws {
        let collections = Dictionary(uniqueKeysWithValues: try PromptSourceTemplates.load(directory: Paths.promptsource).map { ($0.folder, $0) })
        #expect(collections.values.reduce(0) { $0 + $1.templates.count } == 2085)
        var rows: [String: [DatasetRow]] = [:]
        var seen = Set<String>(), failed = Set<String>(), mismatched: [String] = []
        let lines = try String(contentsOf: Self.fixtures.appendingPathComponent("expected.jsonl"), encoding: .utf8).split(separator: "\n")
        for line in lines {
            let expected = try JSONDecoder().decode(Expected.self, from: Data(line.utf8))
            let collection = try #require(collections[expected.templates])
            let template = try #require(collection.templates.first { $0.id == expected.template })
            if rows[expected.templates] == nil {
                rows[expected.templates] = try DatasetSplit.open(Self.fixtures.appendingPathComponent("datasets/\(expected.templates)"), split: "train").allRows()
            }
            let row = try #require(rows[expected.templates]?[expected.row])
            let key = "\(expected.templates) \(template.name) (\(template.id)) row \(expected.row)"
            let templateKey = "\(expected.templates)/\(expected.template)"
            seen.insert(templateKey)
            do {
                let rendered = try template.apply(TemplateValue.variables(row), seed: UInt64(expected.row))
                let same = expected.alternatives.map { $0.contains(rendered.parts) } ?? (rendered.parts == expected.parts)
                if !same || rendered.answerChoices != expected.answer_choices || expected.error != nil {
                    failed.insert(templateKey)
                    mismatched.append("\(key): got \(rendered.parts) / \(String(describing: rendered.answerChoices)), expected \(String(describing: expected.parts)) / \(String(describing: expected.answer_choices))")
                }
            } catch {
                if expected.error == nil {
                    failed.insert(templateKey)
                    mismatched.append("\(key): \(error)")
                }
            }
        }
        #expect(mismatched.isEmpty, "\(mismatched.count) renders differ; first: \(mismatched.prefix(5).joined(separator: "\n"))")
        print("PromptSource parity: \(lines.count - mismatched.count) of \(lines.count) renders, \(seen.subtracting(failed).count) of \(seen.count) templates identical")
        #expect(seen.count == 2085 && lines.count > 4170, "at least two rows for each of the 2,085 templates")
    }

    @Test("a syntax error and an unknown filter name the file, the template, the line and the column")
    func badTemplates() throws {
        let folder = try temporaryFolder("psbad")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (jinja, words) in [("'{{ text }\n|||\n{{ label }}'", ["line"]), ("'{{ text | frobnicate }}'", ["frobnicate"])] {
            let yaml = """
                dataset: demo
                templates:
                  0001: !Template
                    answer_choices: null
                    id: '0001'
                    jinja: \(jinja)
                    metadata: !TemplateMetadata
                      original_task: true
                    name: broken
                    reference: ''
                """
            let file = try writeFile(yaml, "demo/templates.yaml", in: folder)
            let error = try #require(throws: BenchError.self) { try PromptSourceTemplates.load(file: file, folder: "demo") }
            #expect(error.description.contains("demo/templates.yaml") && error.description.contains("broken"), "\(error)")
            for word in words { #expect(error.description.contains(word), "\(error)") }
        }
    }
}

/// The opt-iml preset over Super-NI, PromptSource (over the fixture rows) and BIG-bench together.
@Suite("Several sources")
struct SeveralSourcesTests {
    @Test("niv2 + promptsource + bigbench with the opt-iml preset: every benchmark in the stats, levels over the union, the paper's proportions recorded",
          .enabled(if: Paths.hasPromptSource && Paths.hasBigBench && Paths.hasNIV2, "needs ../shared/data (niv2, promptsource, bigbench)"))
    func optIMLOverSeveralSources() throws {
        let sources = [TaskSource(kind: .niv2, path: Paths.niv2.path), TaskSource(kind: .promptsource, path: Paths.promptsource.path),
                       TaskSource(kind: .bigbench, path: Paths.bigbench.path)]
        var options = BenchBuilder.PromptSourceOptions(datasets: PromptSourceParityTests.fixtures.appendingPathComponent("datasets"))
        options.selection = .all
        let (tasks, counts, _) = try BenchBuilder.loadTasks(sources, promptSource: options)
        #expect(counts.allSatisfy { $0 > 0 })
        let taxonomy = try Taxonomy.builtin()
        let bench = try BenchBuilder(spec: .optIML(), taxonomy: taxonomy, specOrigin: "opt-iml", requireNamesExist: false).build(tasks: tasks)
        let folder = try temporaryFolder("several")
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifest = try BenchStore.write(bench, sources: sources, sourceCounts: counts, taxonomy: taxonomy, to: folder.appendingPathComponent("bench"))
        let benchmarks = BenchStats.benchmarks(manifest)
        #expect(Set(benchmarks.map(\.benchmark)).isSuperset(of: ["niv2", "promptsource", "bigbench", "reasoning", "unifiedskg"]))
        #expect(benchmarks.first { $0.benchmark == "promptsource" }?.instructions == "instance")
        #expect(benchmarks.first { $0.benchmark == "niv2" }?.instructions == "task")
        #expect(manifest.spec.proportions == SplitSpec.paperProportions)
        // Textual Entailment is held out whole: its PromptSource tasks (ANLI, RTE, …) are level-1 test tasks.
        let entailment = manifest.tasks.filter { $0.benchmark == "promptsource" && $0.categories.contains("Textual Entailment") }
        #expect(!entailment.isEmpty && entailment.allSatisfy { $0.role == .test && $0.level == 1 })
        #expect(!(manifest.levels["1"]?["test"] ?? []).isEmpty && !(manifest.levels["2"]?["validation"] ?? []).isEmpty)
    }
}

/// PromptSource sources refuse what they cannot read, naming it.
@Suite("PromptSource bad input")
struct PromptSourceBadInputTests {
    static let templates = """
        dataset: demo
        templates:
          '0001': !Template
            answer_choices: no ||| yes
            id: '0001'
            jinja: '{{ text.lower() }} ||| {{ answer_choices[label] }}'
            metadata: !TemplateMetadata
              original_task: true
            name: plain
            reference: ''
        """

    func load(_ rows: String, folderName: String = "demo", file: String = "train.jsonl") throws -> [BenchTask] {
        let root = try temporaryFolder("psinput")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeFile(Self.templates, "templates/demo/templates.yaml", in: root)
        try writeFile(rows, "data/\(folderName)/\(file)", in: root)
        let tasks = try PromptSourceSource(templates: root.appendingPathComponent("templates"), datasets: root.appendingPathComponent("data"),
                                           categories: try PromptSourceCategories.builtin()).load()
        #expect(tasks.allSatisfy { $0.instances.isEmpty && $0.provider != nil }, "counted, rendered again when the build reads the task")
        return try tasks.map { try $0.loaded() }
    }

    @Test("rows become instances with the template's answer choices as options")
    func rowsBecomeInstances() throws {
        let tasks = try load(#"{"text": "good", "label": 1}"# + "\n" + #"{"text": "bad", "label": 0}"#)
        #expect(tasks.map(\.id) == ["promptsource_demo_plain"])
        let instances = tasks[0].instances
        #expect(instances.map(\.outputs) == [["yes"], ["no"]] && instances[0].options == ["no", "yes"])
        #expect(tasks[0].instructionLevel == .instance && tasks[0].benchmark == "promptsource")
    }

    /// A template's random choices follow the bench's seed (`bench build --seed`; they were always drawn with 0):
    /// the same seed the same instances, another seed other draws.
    @Test("choice draws with the source's seed")
    func choiceFollowsTheSeed() throws {
        let root = try temporaryFolder("psseed")
        defer { try? FileManager.default.removeItem(at: root) }
        try writeFile(Self.templates.replacingOccurrences(of: "{{ text.lower() }}", with: "{{ text }} {{ range(1000) | choice }}"),
                      "templates/demo/templates.yaml", in: root)
        try writeFile((0..<20).map { #"{"text": "row \#($0)", "label": \#($0 % 2)}"# }.joined(separator: "\n"), "data/demo/train.jsonl", in: root)
        func inputs(seed: UInt64) throws -> [String] {
            try PromptSourceSource(templates: root.appendingPathComponent("templates"), datasets: root.appendingPathComponent("data"),
                                   categories: try PromptSourceCategories.builtin(), seed: seed).load()[0].loaded().instances.map(\.input)
        }
        #expect(try inputs(seed: 7) == inputs(seed: 7))
        #expect(try inputs(seed: 7) != inputs(seed: 0))
    }

    @Test("a data folder no template knows, a malformed row, a value of the wrong type: errors naming the place")
    func badInputs() throws {
        let unknown = try #require(throws: BenchError.self) { try load(#"{"text": "x", "label": 0}"#, folderName: "dmeo") }
        #expect(unknown.description.contains("dmeo"))
        let malformed = try #require(throws: BenchError.self) { try load(#"{"text": "x", "label": 0,}"#) }
        #expect(malformed.description.contains("train.jsonl") && malformed.description.contains("1"), "\(malformed)")
        let wrongType = try #require(throws: BenchError.self) { try load(#"{"text": 5, "label": 1}"#) }
        #expect(wrongType.description.contains("row 0") && wrongType.description.contains("plain"), "\(wrongType)")
    }
}

/// Tasks that render their instances again on demand build the very bench that the same tasks held in memory build.
@Suite("Deferred instances")
struct DeferredInstancesTests {
    @Test("a bench from PromptSource tasks read on demand is byte-identical to one from the same tasks in memory",
          .enabled(if: Paths.hasPromptSource, "needs ../shared/data/promptsource"))
    func sameBench() throws {
        let folder = try temporaryFolder("deferred")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        for dataset in ["ag_news", "glue/mrpc", "super_glue/rte", "imdb"] {
            let target = data.appendingPathComponent(dataset)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: PromptSourceParityTests.fixtures.appendingPathComponent("datasets/\(dataset)"), to: target)
        }
        var options = BenchBuilder.PromptSourceOptions(datasets: data)
        options.selection = .all
        let sources = [TaskSource(kind: .promptsource, path: Paths.promptsource.path)]
        let (deferred, counts, _) = try BenchBuilder.loadTasks(sources, promptSource: options)
        #expect(deferred.allSatisfy { $0.provider != nil && $0.instances.isEmpty })
        let held = try deferred.map { try $0.loaded() }
        var spec = SplitSpec.optIML()
        spec.instances.fraction = 0.3
        let taxonomy = try Taxonomy.builtin()
        var written: [[String: Data]] = []
        for (name, tasks) in [("deferred", deferred), ("held", held)] {
            let bench = try BenchBuilder(spec: spec, taxonomy: taxonomy, specOrigin: "test", requireNamesExist: false).build(tasks: tasks)
            let url = folder.appendingPathComponent(name)
            _ = try BenchStore.write(bench, sources: sources, sourceCounts: counts, taxonomy: taxonomy, to: url)
            var files: [String: Data] = [:]
            for case let file as URL in FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) ?? .init()
            where !file.hasDirectoryPath {
                files[String(file.path.dropFirst(url.path.count))] = try Data(contentsOf: file)
            }
            written.append(files)
        }
        #expect(written[0].count > 10 && written[0] == written[1])
    }
}
