import ArgumentParser
import Foundation
import OPTBench

/// `optiml synth`: the generated task suite.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a Super-NaturalInstructions-format task suite (27 tasks, 11 categories) and a split for it.",
        discussion: """
        Writes OUT/tasks/task9001_synthetic_*.json (instruction, two explained positive examples, --instances instances each; \
        closed-label tasks have their options) and OUT/split.yaml (level 1: Question Answering and Text Categorization held out \
        entirely for test, Word Analogy for validation; level 2: one task each of Information Extraction and Sentiment Analysis \
        for test and one of Number Conversion for validation; level 3: 5% of the other tasks' instances), and \
        OUT/pretraining.jsonl (plain generated text, {"text": …} lines, for `optiml tune --stream text=OUT/pretraining.jsonl:1` \
        without a bench). Build a bench \
        from it with: optiml bench build --source niv2:OUT/tasks --preset OUT/split.yaml --out BENCH. Deterministic for --seed.
        """)

    @Option(help: "Output folder.") var out: String
    @Option(help: "Seed of every generated instance.") var seed: UInt64 = 0
    @Option(help: "Instances per task.") var instances = defaultInstances

    static let defaultInstances = 2000

    func run() throws {
        guard instances > 0 else { throw ValidationError("--instances must be positive") }
        try Self.write(out: out, seed: seed, instances: instances)
    }

    /// Writes the suite through `SyntheticSuite` and prints what it wrote (the demo's first stage too).
    static func write(out: String, seed: UInt64, instances: Int) throws {
        do {
            let count = try SyntheticSuite.write(to: URL(fileURLWithPath: out), seed: seed, instances: instances)
            print("wrote \(count) tasks to \(out)/tasks, the split \(out)/split.yaml and \(out)/pretraining.jsonl")
        } catch { throw CLIError(error) }
    }
}
