import ArgumentParser
import Foundation
import OPTBench
import OPTEval
import OPTModel

/// `optiml demo`: the whole OPT-IML loop on data and a model the tool makes itself.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the OPT-IML loop end to end on a generated suite and a nano model trained from scratch.",
        discussion: """
        Stages: generate the task suite and its pre-training text (synth); train a BPE tokenizer on the text; initialise \
        a nano OPT (a few million parameters) and pre-train it on the text; build a bench with the three levels; evaluate \
        the base model 0- and 2-shot; instruction-tune it on the training split; evaluate the tuned model; print the \
        paper-style table (base vs tuned per level and shot count); write the HTML report; answer one held-out \
        instruction with both models. Everything goes under --out, which is replaced. --quick runs short stages for CI.
        """)

    @Option(help: "Folder for everything the demo writes (replaced).") var out = ".build/demo"
    @Flag(help: "Short stages (a couple of minutes), for CI.") var quick = false
    @Option(help: "Seed of the suite, the model and training.") var seed: UInt64 = 0

    func run() throws {
        let root = URL(fileURLWithPath: out)
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        let steps = quick ? 40 : 300, instances = quick ? 300 : 2000, limit = quick ? 8 : 20
        let started = Date()
        func stage(_ title: String, _ body: () throws -> Void) throws {
            FileHandle.standardError.write(Data("\n== \(title) (\(Int(Date().timeIntervalSince(started))) s)\n".utf8))
            try body()
        }
        try stage("task suite") { try Synth.parse(["--out", path("suite"), "--seed", "\(seed)", "--instances", "\(instances)"]).run() }
        try stage("tokenizer") {
            try TrainTokenizer.parse(["--corpus", path("suite/pretraining.jsonl"), "--vocab-size", "2048", "--out", path("tokenizer")]).run()
        }
        try stage("nano model") {
            try InitRandom.parse(["--like", "nano", "--tokenizer", path("tokenizer"), "--seed", "\(seed)", "--out", path("nano-init")]).run()
        }
        try stage("pre-training on generated text") {
            try Tune.parse(["--model", path("nano-init"), "--stream", "text=\(path("suite/pretraining.jsonl")):1", "--loss", "full",
                            "--seq-len", "256", "--batch-size", "8", "--steps", "\(steps)", "--lr", "2e-3", "--warmup", "20",
                            "--dropout", "0", "--seed", "\(seed)", "--save-every", "\(steps)", "--out", path("pretrain")]).run()
        }
        let base = path("pretrain/" + checkpointName(steps)), tuned = path("tune/" + checkpointName(steps))
        try stage("bench") {
            try BenchBuild.parse(["--source", "niv2:" + path("suite/tasks"), "--preset", path("suite/split.yaml"), "--out", path("bench")]).run()
        }
        let evalArguments = ["--bench", path("bench"), "--split", "test", "--shots", "0,2", "--limit", "\(limit)", "--max-new-tokens", "8"]
        try stage("evaluating the base model") { try EvalRun.parse(["--model", base, "--out", path("eval-base")] + evalArguments).run() }
        try stage("instruction tuning") {
            try Tune.parse(["--model", base, "--bench", path("bench"), "--seq-len", "256", "--batch-size", "8", "--steps", "\(steps)",
                            "--lr", "1e-3", "--warmup", "20", "--seed", "\(seed)", "--save-every", "\(steps)", "--out", path("tune")]).run()
        }
        try stage("evaluating the tuned model") { try EvalRun.parse(["--model", tuned, "--out", path("eval-tuned")] + evalArguments).run() }
        try stage("report") { try ReportCommand.parse([path("eval-base"), path("eval-tuned"), "--compare", "--out", out]).run() }
        print("\n" + (try table(base: path("eval-base"), tuned: path("eval-tuned"))))
        try answerHeldOutInstruction(bench: URL(fileURLWithPath: path("bench")), models: [("base", base), ("tuned", tuned)])
        print("\nfinished in \(Int(Date().timeIntervalSince(started))) s; report: \(path("report.html"))")
    }

    private func checkpointName(_ step: Int) -> String {
        let digits = String(step)
        return "checkpoint-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The paper-style table: per level and shot count, base and tuned scores and the change.
    private func table(base: String, tuned: String) throws -> String {
        let a = try Report.loadResults(runFolder: base).file, b = try Report.loadResults(runFolder: tuned).file
        func levels(_ f: EvalResultsFile) -> [String: GroupResult] {
            Dictionary(f.groups.filter { $0.kind == "level" }.map { ("\($0.level)/\($0.shots.map(String.init) ?? "all")", $0) }, uniquingKeysWith: { x, _ in x })
        }
        let (x, y) = (levels(a), levels(b))
        var lines = ["| level | shots | base | tuned | Δ |", "|---|--:|--:|--:|--:|"]
        let names = [1: "1 (held-out categories)", 2: "2 (held-out tasks)", 3: "3 (held-out instances)"]
        for key in x.keys.sorted() {
            guard let p = x[key], let q = y[key] else { continue }
            let shots = p.shots.map(String.init) ?? "0+2"
            lines.append("| \(names[p.level] ?? "\(p.level)") | \(shots) | \(String(format: "%.1f", p.score)) | \(String(format: "%.1f", q.score)) | \(String(format: "%+.1f", q.score - p.score)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Both models' greedy answers to the first test instance of a fully held-out task.
    private func answerHeldOutInstruction(bench: URL, models: [(String, String)]) throws {
        let manifest = try BenchStore.manifest(bench)
        guard let record = manifest.tasks.first(where: { $0.role == .test && $0.level == 1 }) else { return }
        let (task, _) = try BenchStore.task(record.id, in: bench, manifest: manifest)
        guard let instance = task.instances(in: .test).first else { return }
        let prompt = PromptFormatter(style: .optIML(OPTIMLEncoding()), seed: seed).format(instance, of: task)
        print("\nHeld-out instruction (\(task.id), never trained on):\n\(prompt.src)\nreference:\(prompt.tgt)")
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 16
        parameters.stop = ["\n"]
        for (name, directory) in models {
            let generator = try Generator(directory: URL(fileURLWithPath: directory))
            print("\(name):\(try generator.generate(prompt: prompt.src, parameters: parameters).text)")
        }
    }
}
