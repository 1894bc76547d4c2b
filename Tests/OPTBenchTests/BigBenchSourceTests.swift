import Foundation
import Testing
@testable import OPTBench

/// BIG-bench JSON tasks as bench tasks: choices in file order, gold by score, references, instructions,
/// categories and sources; and the Natural Instructions v1 tasks caught against Super-NI.
@Suite("BIG-bench source")
struct BigBenchSourceTests {
    static func folder(_ tasks: [String: String]) throws -> URL {
        let root = try temporaryFolder("bigbench")
        for (path, text) in tasks { try writeFile(text, path + "/task.json", in: root) }
        return root
    }

    @Test("multiple choice keeps the choices in file order, the best score is gold (the first on ties); generative targets are references")
    func examples() throws {
        let root = try Self.folder([
            "choices": #"""
            {"name": "choices", "description": "Pick one.", "keywords": ["logical reasoning"], "canary": "BENCHMARK DATA SHOULD NEVER APPEAR. canary GUID x",
             "examples": [{"input": "Q1", "target_scores": {"zebra": 0, "apple": 1, "mango": 1}},
                          {"input": "Q2", "target_scores": {"b": 0.25, "a": 0.5}}]}
            """#,
            "gen": #"""
            {"name": "gen", "description": "Say it.", "task_prefix": "Repeat the word.\n", "keywords": ["arithmetic"],
             "examples": [{"input": "one", "target": "one"}, {"input": "two", "target": ["two", "2"]}]}
            """#,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let tasks = try BigBenchSource.load(directory: root)
        #expect(tasks.map(\.id) == ["bigbench_choices", "bigbench_gen"])
        let choices = tasks[0], gen = tasks[1]
        #expect(choices.instances[0].options == ["zebra", "apple", "mango"] && choices.instances[0].outputs == ["apple"])
        #expect(choices.instances[1].options == ["b", "a"] && choices.instances[1].outputs == ["a"])
        #expect(choices.definition == ["Pick one."] && choices.categories == ["Logical Reasoning"] && choices.sources == ["choices"])
        #expect(gen.definition == ["Repeat the word.\n"], "task_prefix comes before description")
        #expect(gen.instances.map(\.outputs) == [["one"], ["two", "2"]] && gen.instances.allSatisfy { $0.options == nil })
        #expect(gen.categories == ["Mathematics"] && gen.benchmark == "bigbench")
        let text = tasks.flatMap { $0.definition + $0.instances.map(\.input) }.joined()
        #expect(!text.contains("canary"))
    }

    @Test("bad tasks: no correct choice, a missing target, a wrong type; each names the file and the example")
    func badTasks() throws {
        let cases: [(String, String)] = [
            (#"{"name": "t", "description": "d", "examples": [{"input": "x", "target_scores": {"a": 0, "b": 0}}]}"#, "examples[0]"),
            (#"{"name": "t", "description": "d", "examples": [{"input": "x", "target": "y"}, {"input": "z"}]}"#, "examples[1].target"),
            (#"{"name": "t", "description": "d", "examples": [{"input": 3, "target": "y"}]}"#, "examples[0].input"),
            (#"{"name": "t", "description": "d", "examples": [{"input": "x", "target": "y"},]}"#, "task.json"),
        ]
        for (text, place) in cases {
            let root = try Self.folder(["bad": text])
            defer { try? FileManager.default.removeItem(at: root) }
            let error = try #require(throws: BenchError.self) { try BigBenchSource.load(directory: root) }
            #expect(error.description.contains("bad/task.json") && error.description.contains(place), "\(error)")
        }
    }

    @Test("the shared BIG-bench tasks: subtasks, benchmarks, categories, Natural Instructions v1 sources",
          .enabled(if: Paths.hasBigBench, "needs ../shared/data/bigbench"))
    func sharedTasks() throws {
        let tasks = try BigBenchSource.load(directory: Paths.bigbench)
        let byID = Dictionary(uniqueKeysWithValues: tasks.map { ($0.id, $0) })
        #expect(tasks.count > 140)
        #expect(byID["bigbench_arithmetic"] == nil, "a folder of subtasks is not a task itself")
        #expect(byID["bigbench_arithmetic_1_digit_addition"]?.categories == ["Mathematics"])
        #expect(byID["bigbench_strategyqa"]?.benchmark == "reasoning")
        #expect(byID["bigbench_semantic_parsing_spider"]?.benchmark == "unifiedskg")
        let nli = try #require(byID["bigbench_natural_instructions_subtask020_mctaco_span_based_question"])
        #expect(nli.sources == ["mctaco"] && nli.definition[0].hasPrefix("Definition:"))
        #expect(tasks.filter { $0.id.hasPrefix("bigbench_natural_instructions_") }.count == 61)
        for task in tasks {
            for instance in task.instances {
                if let options = instance.options { #expect(options.contains(instance.outputs[0])) }
                #expect(!instance.input.contains("canary GUID"))
            }
        }
    }

    @Test("Natural Instructions v1 in BIG-bench against Super-NI: the shared-source rule excludes the copy, the 13-gram audit finds it",
          .enabled(if: Paths.hasBigBench && Paths.hasNIV2, "needs ../shared/data/bigbench and ../shared/data/niv2"))
    func naturalInstructionsOverlap() throws {
        let (tasks, _, _) = try BenchBuilder.loadTasks([TaskSource(kind: .niv2, path: Paths.niv2.path),
                                                        TaskSource(kind: .bigbench, path: Paths.bigbench.path)])
        var spec = SplitSpec(name: "overlap")
        spec.test.tasks = ["task020_mctaco_span_based_question"]
        let withRule = try BenchBuilder(spec: spec, taxonomy: try Taxonomy.builtin(), specOrigin: "test", requireNamesExist: false).build(tasks: tasks)
        let copy = "bigbench_natural_instructions_subtask020_mctaco_span_based_question"
        #expect(withRule.assignments[copy]?.role == .excluded)
        #expect(withRule.assignments[copy]?.reason?.contains("mctaco") == true)

        spec.leakage.excludeSharedSources = false
        let audited = try BenchBuilder(spec: spec, taxonomy: try Taxonomy.builtin(), specOrigin: "test", requireNamesExist: false).build(tasks: tasks)
        let pair = try #require(audited.leakage.pairs.first { $0.trainTask == copy && $0.evalTask == "task020_mctaco_span_based_question" })
        #expect(pair.fraction > 0.1, "BIG-bench keeps 120 of the task's instances; those Super-NI evaluates share 13-grams with them")
    }
}
