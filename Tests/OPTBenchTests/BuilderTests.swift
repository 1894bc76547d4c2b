import Foundation
import Testing
@testable import OPTBench

/// Levels, splits, caps, options and the leakage rules on synthetic tasks.
@Suite("Bench builder")
struct BuilderTests {
    static let taxonomy = try! Taxonomy.builtin()

    func build(_ tasks: [BenchTask], _ spec: SplitSpec, seed: UInt64? = nil) throws -> Bench {
        try BenchBuilder(spec: spec, seed: seed, taxonomy: Self.taxonomy, specOrigin: "test.yaml").build(tasks: tasks)
    }

    /// Four categories: one held out whole, one split, two trained.
    func corpus() -> [BenchTask] {
        (0..<4).map { syntheticTask("entail\($0)", category: "Textual Entailment") }
            + (0..<5).map { syntheticTask("qa\($0)", category: "Question Answering") }
            + (0..<3).map { syntheticTask("senti\($0)", category: "Sentiment Analysis", labels: ["negative", "positive"]) }
            + [syntheticTask("hate0", category: "hate speech detection")]
    }

    func spec() -> SplitSpec {
        var spec = SplitSpec(name: "test")
        spec.test.categories = ["Textual Entailment"]
        spec.partiallyHeldOut.fraction = 0.4
        spec.partiallyHeldOut.validation = ["Question Answering"]
        spec.instances.fraction = 0.25
        spec.instances.maxPerTask = 3
        return spec
    }

    @Test("level 1 holds out whole categories, level 2 part of a category, level 3 instances of training tasks")
    func threeLevels() throws {
        let bench = try build(corpus(), spec())
        let roles = bench.assignments
        for index in 0..<4 { #expect(roles["entail\(index)"] == TaskAssignment(role: .test, level: 1)) }
        let heldQA = (0..<5).filter { roles["qa\($0)"]?.role == .validation }
        #expect(heldQA.count == 2)
        for index in heldQA { #expect(roles["qa\(index)"]?.level == 2) }
        #expect((0..<5).filter { roles["qa\($0)"]?.role == .train }.count == 3)
        for task in bench.tasks where roles[task.id]?.role == .train {
            #expect(task.instances(in: .test).count == 3, "min(0.25 × 20, 3) held out of \(task.id)")
            #expect(task.instances(in: .train).count == 17)
        }
        // No instance is in two splits, and training tasks keep all their other instances.
        for task in bench.tasks { #expect(Set(task.instances.map(\.id)).count == task.instances.count) }
    }

    @Test("categories are consolidated through the taxonomy")
    func consolidation() throws {
        let bench = try build(corpus(), spec())
        let hate = try #require(bench.tasks.first { $0.id == "hate0" })
        #expect(hate.categories == ["Toxic Language Detection"])
        #expect(hate.originalCategories == ["hate speech detection"])
    }

    @Test("the same seed gives the same bench; another seed other level-2 tasks and level-3 instances")
    func determinism() throws {
        let first = try build(corpus(), spec(), seed: 1)
        let again = try build(corpus(), spec(), seed: 1)
        #expect(first.tasks == again.tasks)
        #expect(first.assignments == again.assignments)
        let other = (2...6).map { try? build(corpus(), spec(), seed: UInt64($0)) }
        #expect(other.contains { $0?.tasks != first.tasks })
    }

    @Test("a training task sharing a source dataset with an evaluation task is excluded, and that can make a level 2 task level 1")
    func sharedSourcesExcluded() throws {
        var tasks = [syntheticTask("eval", category: "Word Analogy", source: "bard"),
                     syntheticTask("train", category: "Word Analogy", source: "bard"),
                     syntheticTask("other", category: "Summarization", source: "cnn")]
        tasks[0].id = "eval"
        var spec = SplitSpec(name: "t")
        spec.test.tasks = ["eval"]
        let bench = try build(tasks, spec)
        #expect(bench.assignments["train"]?.role == .excluded)
        #expect(bench.assignments["train"]?.reason?.contains("bard") == true)
        #expect(bench.assignments["eval"]?.level == 1)
        spec.leakage.excludeSharedSources = false
        let kept = try build(tasks, spec)
        #expect(kept.assignments["train"]?.role == .train)
        #expect(kept.assignments["eval"]?.level == 2)
    }

    @Test("caps: training instances per task and per benchmark, evaluation instances (the rest become demonstrations)")
    func caps() throws {
        var spec = SplitSpec(name: "t")
        spec.test.tasks = ["held"]
        spec.caps.trainPerTask = 7
        spec.caps.trainPerBenchmark = ["flan": 4]
        spec.caps.evalPerTask = 5
        let bench = try build([syntheticTask("held", category: "A"), syntheticTask("plain", category: "B"),
                               syntheticTask("flan1", category: "C", benchmark: "flan")], spec)
        let byID = Dictionary(uniqueKeysWithValues: bench.tasks.map { ($0.id, $0) })
        #expect(byID["plain"]?.instances(in: .train).map(\.id) == (0..<7).map { "plain-\($0)" })
        #expect(byID["flan1"]?.instances(in: .train).count == 4)
        #expect(byID["held"]?.instances(in: .test).map(\.id) == (0..<5).map { "held-\($0)" })
        #expect(byID["held"]?.instances(in: .demonstrations).count == 15)
    }

    @Test("a small closed label set becomes the options; free text does not")
    func options() throws {
        let bench = try build([syntheticTask("senti", category: "Sentiment Analysis", labels: ["negative", "positive"]),
                               syntheticTask("free", category: "Summarization"),
                               syntheticTask("tiny", category: "Summarization", count: 3, labels: ["a", "b"])], SplitSpec(name: "t"))
        let byID = Dictionary(uniqueKeysWithValues: bench.tasks.map { ($0.id, $0) })
        #expect(byID["senti"]?.options == ["negative", "positive"])
        #expect(byID["free"]?.options == nil)
        #expect(byID["tiny"]?.options == nil, "3 instances are too few to call 2 labels a closed set")
    }

    @Test("languages filter and the excluded list")
    func filters() throws {
        var spec = SplitSpec(name: "t")
        spec.languages = ["English"]
        spec.excludeTasks = ["dropped"]
        let bench = try build([syntheticTask("es", category: "Translation", languages: ["Spanish"]),
                               syntheticTask("dropped", category: "A"), syntheticTask("kept", category: "A")], spec)
        #expect(bench.assignments["es"]?.role == .excluded)
        #expect(bench.assignments["dropped"]?.role == .excluded)
        #expect(bench.tasks.map(\.id) == ["kept"])
    }

    /// A task without instances would be counted in its level and then drop out of every evaluation: it is
    /// excluded, with the reason, wherever its category would have put it.
    @Test("a task with no instances is excluded, with the reason")
    func noInstances() throws {
        var empty = syntheticTask("entail_empty", category: "Textual Entailment")
        empty.instances = []
        let bench = try build(corpus() + [empty], spec())
        #expect(bench.assignments["entail_empty"]?.role == .excluded && bench.assignments["entail_empty"]?.reason == "it has no instances")
        #expect(!bench.tasks.contains { $0.id == "entail_empty" })
        #expect(bench.assignments["entail0"]?.role == .test)
    }

    @Test("the n-gram audit finds planted overlaps, ignores short ones, and removes the training side on request")
    func leakageAudit() throws {
        var train = syntheticTask("train", category: "A", source: "s1")
        var eval = syntheticTask("eval", category: "B", source: "s2")
        let clean = syntheticTask("clean", category: "B", source: "s3")
        // 3 of eval's 20 instances copy 13 words from a training instance; one more shares only 12 words.
        let copied = "the quick brown fox jumps over the lazy dog while seven tired cats watch quietly"
        train.instances[0].input = "prefix words " + copied + " suffix"
        for index in 0..<3 { eval.instances[index].input = "Question \(index): " + copied.uppercased() + "?" }
        eval.instances[3].input = copied.split(separator: " ").prefix(12).joined(separator: " ")
        var spec = SplitSpec(name: "t")
        spec.test.tasks = ["eval", "clean"]
        let bench = try build([train, eval, clean], spec)
        #expect(bench.leakage.pairs.count == 1)
        let pair = try #require(bench.leakage.pairs.first)
        #expect(pair.trainTask == "train" && pair.evalTask == "eval")
        #expect(pair.sharedInstances == 3 && pair.evalInstances == 20)
        #expect(abs(pair.fraction - 0.15) < 1e-12)
        #expect(bench.assignments["train"]?.role == .train)
        spec.leakage.threshold = 0.2
        #expect(try build([train, eval, clean], spec).leakage.pairs.isEmpty)
        spec.leakage.threshold = 0.01
        spec.leakage.remove = true
        let removed = try build([train, eval, clean], spec)
        #expect(removed.assignments["train"]?.role == .excluded)
        #expect(removed.assignments["train"]?.reason?.contains("13-gram") == true)
    }

    @Test("rolling n-gram hashes equal hashes computed afresh for each window")
    func rollingHash() {
        let audit = LeakageAudit(ngram: 3)
        var rolled: [UInt64] = []
        let words = audit.forEachNgram(in: "Alpha beta, GAMMA delta épsilon 42") { rolled.append($0) }
        #expect(words == 6)
        var fresh: [UInt64] = []
        for text in ["alpha beta gamma", "beta gamma delta", "gamma delta épsilon", "delta épsilon 42"] {
            _ = audit.forEachNgram(in: text) { fresh.append($0) }
        }
        #expect(rolled == fresh)
    }
}
