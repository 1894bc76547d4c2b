import Foundation
import Testing
@testable import OPTBench

@Suite("Synthetic task suite")
struct SyntheticSuiteTests {
    @Test("≥ 24 tasks in ≥ 8 categories, Super-NI files with instructions, explained examples, options and many distinct instances")
    func suiteShape() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let written = try SyntheticSuite.write(to: folder, seed: 3, instances: 1000)
        let (tasks, _) = try NIV2Source.load(directory: folder.appendingPathComponent("tasks"))
        #expect(written == tasks.count && tasks.count >= 24)
        #expect(Set(tasks.flatMap(\.categories)).count >= 8)
        let taxonomy = try Taxonomy.builtin()
        for task in tasks {
            #expect(!(task.definition.first ?? "").isEmpty, "\(task.id)")
            #expect(task.positiveExamples.count == 2 && task.positiveExamples.allSatisfy { !($0.explanation ?? "").isEmpty }, "\(task.id)")
            #expect(task.instances.count >= 900, "\(task.id): \(task.instances.count) instances")
            #expect(Set(task.instances.map(\.input)).count == task.instances.count, "\(task.id): repeated inputs")
            #expect(task.categories.allSatisfy { taxonomy.consolidated($0) != nil }, "\(task.id): \(task.categories)")
            if let options = task.options ?? SyntheticSuite.specs.first(where: { task.id.hasSuffix($0.name) })?.options {
                #expect(task.instances.allSatisfy { options.contains($0.outputs[0]) }, "\(task.id)")
            }
        }
        // The generators compute what they claim.
        let addition = try #require(tasks.first { $0.id.hasSuffix("addition") })
        for instance in addition.instances.prefix(50) {
            let numbers = instance.input.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(numbers.count == 2 && Int(instance.outputs[0]) == numbers[0] + numbers[1])
        }
        #expect(SyntheticSuite.words(342) == "three hundred forty-two" && SyntheticSuite.words(90) == "ninety" && SyntheticSuite.words(7) == "seven")
    }

    @Test("the same seed writes the same bytes; another seed other instances")
    func deterministic() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a"), b = folder.appendingPathComponent("b"), c = folder.appendingPathComponent("c")
        try SyntheticSuite.write(to: a, seed: 1, instances: 50)
        try SyntheticSuite.write(to: b, seed: 1, instances: 50)
        try SyntheticSuite.write(to: c, seed: 2, instances: 50)
        let names = try FileManager.default.contentsOfDirectory(atPath: a.appendingPathComponent("tasks").path).sorted()
        for name in names {
            let file = "tasks/" + name
            #expect(FileManager.default.contents(atPath: a.appendingPathComponent(file).path) == FileManager.default.contents(atPath: b.appendingPathComponent(file).path))
            #expect(FileManager.default.contents(atPath: a.appendingPathComponent(file).path) != FileManager.default.contents(atPath: c.appendingPathComponent(file).path))
        }
        #expect(SyntheticSuite.pretrainingText(seed: 1, sentences: 20) == SyntheticSuite.pretrainingText(seed: 1, sentences: 20))
    }

    @Test("its split builds a bench with all three levels")
    func benchLevels() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticSuite.write(to: folder, seed: 0, instances: 200)
        let sources = [TaskSource(kind: .niv2, path: folder.appendingPathComponent("tasks").path)]
        let (loaded, _, _) = try BenchBuilder.loadTasks(sources)
        let spec = try SplitSpec.load(file: folder.appendingPathComponent("split.yaml"))
        let bench = try BenchBuilder(spec: spec, taxonomy: try Taxonomy.builtin(), specOrigin: "synthetic").build(tasks: loaded)
        let roles = Dictionary(grouping: bench.assignments.values, by: { "\($0.role)-\($0.level ?? 3)" }).mapValues(\.count)
        #expect(roles["test-1", default: 0] == 2 && roles["validation-1", default: 0] == 2, "\(roles)")
        #expect(roles["test-2", default: 0] >= 1 && roles["validation-2", default: 0] >= 1, "\(roles)")
        #expect(roles["train-3", default: 0] >= 15, "\(roles)")
        #expect(bench.tasks.contains { $0.instances.contains { $0.split == .test } && bench.assignments[$0.id]?.role == .train })
    }
}
