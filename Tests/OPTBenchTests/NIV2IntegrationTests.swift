import Foundation
import OPTTokenizer
import Testing
@testable import OPTBench

/// Building real benches from the Super-NI subset in ../shared/data/niv2.
@Suite("Super-NI integration", .enabled(if: Paths.hasNIV2, "../shared/data/niv2 is absent: skipping the Super-NI integration tests"))
struct NIV2IntegrationTests {
    func build(_ spec: SplitSpec, origin: String, seed: UInt64? = nil) throws -> (Bench, [BenchTask]) {
        let sources = [TaskSource(kind: .niv2, path: Paths.niv2.path)]
        let (tasks, counts, _) = try BenchBuilder.loadTasks(sources)
        #expect(counts == [38])
        let bench = try BenchBuilder(spec: spec, seed: seed, taxonomy: try Taxonomy.builtin(), specOrigin: origin,
                                     requireNamesExist: false)
            .build(tasks: tasks)
        return (bench, tasks)
    }

    @Test("every real task file loads, NaN URLs included, and every category is in the taxonomy")
    func loadsEveryTask() throws {
        let (tasks, splits) = try NIV2Source.load(directory: Paths.niv2)
        #expect(tasks.count == 38)
        #expect(splits["default"]?.test.count == 119)
        let taxonomy = try Taxonomy.builtin()
        for task in tasks {
            #expect(!task.instances.isEmpty && !task.definition.isEmpty, "\(task.id)")
            for category in task.originalCategories { #expect(taxonomy.consolidated(category) == category, "\(category)") }
        }
    }

    @Test("niv2-default: the official test tasks held out whole (12 categories at level 1), the excluded list and non-English dropped")
    func niv2Default() throws {
        let (lists, _) = try (NIV2Source.load(directory: Paths.niv2).splits["default"]!, ())
        #expect(lists == (try SplitSpec.builtinNIV2DefaultLists()), "the shipped copies equal the official lists")
        let (bench, _) = try build(SplitSpec.niv2Default(lists: lists), origin: "niv2-default")
        let test = bench.tasks.filter { bench.assignments[$0.id]?.role == .test }
        #expect(test.count == 22)
        #expect(Set(test.flatMap(\.categories)).count == 12)
        #expect(test.allSatisfy { bench.assignments[$0.id]?.level == 1 })
        #expect(test.allSatisfy { Set(lists.test).contains($0.id) })
        #expect(bench.assignments["task530_europarl_en_es_translation"]?.role == .excluded)
        let train = bench.tasks.filter { bench.assignments[$0.id]?.role == .train }
        #expect(train.count == 15)
        #expect(train.allSatisfy { Set(lists.train).contains($0.id) && $0.instances(in: .test).isEmpty })
    }

    @Test("opt-iml: the paper's held-out categories at level 1, partially held-out ones at level 2, instances at level 3")
    func optIML() throws {
        let (bench, _) = try build(SplitSpec.optIML(), origin: "opt-iml")
        func roles(_ category: String) -> Set<TaskAssignment.Role> {
            Set(bench.tasks.filter { $0.categories.contains(category) }.compactMap { bench.assignments[$0.id]?.role })
        }
        #expect(roles("Textual Entailment") == [.test])
        #expect(roles("Word Analogy") == [.validation])
        #expect(roles("Question Answering") == [.train, .validation, .test])
        #expect(roles("Toxic Language Detection") == [.train, .validation])
        let levels = Set(bench.assignments.values.compactMap(\.level))
        #expect(levels == [1, 2])
        let levelThree = bench.tasks.filter { bench.assignments[$0.id]?.role == .train }.flatMap { $0.instances(in: .test) }
        #expect(levelThree.count > 20)
    }

    @Test("building twice writes byte-identical benches; stats and exports read them")
    func writeReadExport() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sources = [TaskSource(kind: .niv2, path: Paths.niv2.path)]
        var manifests: [Data] = []
        for name in ["a", "b"] {
            let (bench, _) = try build(SplitSpec.optIML(), origin: "opt-iml", seed: 3)
            _ = try BenchStore.write(bench, sources: sources, sourceCounts: [38], taxonomy: try Taxonomy.builtin(),
                                     to: folder.appendingPathComponent(name))
            manifests.append(try Data(contentsOf: folder.appendingPathComponent("\(name)/manifest.json")))
        }
        #expect(manifests[0] == manifests[1])
        let bench = folder.appendingPathComponent("a")
        let manifest = try BenchStore.manifest(bench)
        #expect(manifest.seed == 3 && manifest.spec.name == "opt-iml")
        let rows = BenchStats.rows(manifest)
        #expect(rows.count == 7)
        #expect(rows.first { $0.split == "test" && $0.level == 1 }?.categories == 4)
        #expect(rows.reduce(0) { $0 + $1.tasks } >= manifest.counts.tasksKept)
        for record in manifest.tasks {
            let (task, _) = try BenchStore.task(record.id, in: bench, manifest: manifest)
            #expect(task.instances.count == record.instances.values.reduce(0, +))
        }
        let out = folder.appendingPathComponent("train.jsonl")
        let formatter = PromptFormatter(style: .optIML(OPTIMLEncoding()), seed: 0)
        let lines = try BenchExport.metaseq(bench: bench, split: .train, formatter: formatter, to: out)
        #expect(lines == manifest.counts.instances["train"])
        let first = try JSONSerialization.jsonObject(with: try Data(contentsOf: out).split(separator: 0x0A)[0]) as? [String: String]
        #expect(first?.keys.sorted() == ["src", "tgt"])
        let test = folder.appendingPathComponent("test.jsonl")
        let testLines = try BenchExport.metaseq(bench: bench, split: .test, levels: [1], formatter: formatter, to: test)
        #expect(testLines == rows.first { $0.split == "test" && $0.level == 1 }?.examples)
        let line = try JSONSerialization.jsonObject(with: try Data(contentsOf: test).split(separator: 0x0A)[0]) as? [String: Any]
        #expect(line?["level"] as? Int == 1)
        #expect(line?["task"] is String && line?["references"] is [String])
    }

    @Test("the audit on the subset: time, words, and an extrapolation input")
    func auditScale() throws {
        let (bench, _) = try build(SplitSpec.optIML(), origin: "opt-iml")
        #expect(bench.leakage.trainWords > 10_000 && bench.leakage.evalWords > 10_000)
        #expect(bench.leakage.evalInstances > 500)
    }
}
