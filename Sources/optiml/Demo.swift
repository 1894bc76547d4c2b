import ArgumentParser
import Foundation
import OPTBench
import OPTEval
import OPTModel
import OPTTrain

/// `optiml demo`: the whole OPT-IML loop on data and a model the tool makes itself.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the OPT-IML loop end to end on a generated task suite and the bundled nano base model.",
        discussion: """
        Stages: generate the task suite (synth); build a bench with the three levels; evaluate the base model 0- and \
        2-shot; instruction-tune it on the training split with the paper's recipe (label loss, packing, examples-\
        proportional sampling with a task cap, 5% pre-training text; no demonstrations, as in the final models); \
        evaluate the tuned model; print the paper-style table (base vs tuned per level and shot count); write the HTML report; answer one \
        held-out instruction with both models. The base model is Models/nano (made by `optiml nano`, which --pretrain \
        runs first). Everything goes under --out, which is replaced. --quick runs short stages for CI.
        """)

    @Option(help: "Folder for everything the demo writes (replaced).") var out = ".build/demo"
    @Flag(help: "Short stages (a couple of minutes), for CI.") var quick = false
    @Option(help: "Seed of the suite and of instruction tuning.") var seed: UInt64 = 0
    @Option(help: "The base model: a nano checkpoint (`optiml nano` writes one).") var base = "Models/nano"
    @Flag(help: "Pre-train the base model from scratch first (optiml nano, into --out) instead of using --base.") var pretrain = false

    static let tuningSteps = 900, quickTuningSteps = 40

    func run() async throws {
        let root = URL(fileURLWithPath: out)
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        let steps = quick ? Self.quickTuningSteps : Self.tuningSteps, instances = quick ? 300 : 2000, limit = quick ? 8 : 50
        let started = Date()
        func announce(_ title: String) {
            FileHandle.standardError.write(Data("\n== \(title) (\(Int(Date().timeIntervalSince(started))) s)\n".utf8))
        }
        func stage(_ title: String, _ body: () async throws -> Void) async throws {
            announce(title)
            do { try await body() } catch { throw CLIError(error) }
        }
        var baseModel = base
        if pretrain {
            baseModel = path("nano")
            try Nano.pretrain(out: baseModel, work: path("nano-stages"), steps: quick ? 40 : Nano.defaultSteps, seed: 0,
                              log: { announce("nano: " + $0) })
        } else if !FileManager.default.fileExists(atPath: URL(fileURLWithPath: base).appendingPathComponent("config.json").path) {
            throw ValidationError("no base model at \(base): run the demo from the repository root, pass --base DIR, or add --pretrain")
        }
        // Each stage calls the library as a program would, and prints what its subcommand prints.
        try await stage("task suite") { try Synth.write(out: path("suite"), seed: seed, instances: instances) }
        let bench = URL(fileURLWithPath: path("bench"), isDirectory: true)
        try await stage("bench") {
            let settings = BenchBuildSettings(sources: [TaskSource(kind: .niv2, path: path("suite/tasks"))],
                                              split: .file(path: path("suite/split.yaml")), out: bench)
            var clock = StageClock()
            BenchBuild.printSummary(try BenchBuilder.run(settings) { clock.done($0) }, out: path("bench"))
        }
        let tuned = path("tune/" + TrainingCheckpoint.name(step: steps))
        var evaluation = EvalSettings()
        evaluation.shots = [0, 2]
        evaluation.limit = limit
        evaluation.maxNewTokens = 8
        func evaluate(_ model: String, out: String) async throws {
            let backend = try LocalBackend.load(directory: URL(fileURLWithPath: model, isDirectory: true))
            try await EvalRun.evaluate(bench: bench, backend: backend, tokenizer: backend.generator.tokenizer, modelName: model, settings: evaluation, out: out)
        }
        try await stage("evaluating the base model") { try await evaluate(baseModel, out: path("eval-base")) }
        try await stage("instruction tuning") {
            // The paper's recipe at the demo's size; the rest (dropout, AdamW, the task cap, label loss) as `optiml tune` defaults.
            var mixture = MixtureSettings()
            mixture.seed = seed
            mixture.streams = [.init(name: "pretraining", path: path("suite/pretraining.jsonl"), share: 0.05)]
            let settings = TrainerSettings(steps: steps, batchSize: 8, sequenceLength: 256, learningRate: 1e-3, warmupSteps: 30,
                                           mixture: mixture, seed: seed, saveEvery: steps)
            try Tune.train(model: URL(fileURLWithPath: baseModel), bench: bench, out: URL(fileURLWithPath: path("tune")), settings: settings,
                           resume: false, threads: nil, logLevel: .info)
        }
        try await stage("evaluating the tuned model") { try await evaluate(tuned, out: path("eval-tuned")) }
        try await stage("report") { try ReportCommand.write(runFolders: [path("eval-base"), path("eval-tuned")], compare: true, out: out) }
        print("\n" + (try table(base: path("eval-base"), tuned: path("eval-tuned"))))
        try answerHeldOutInstruction(bench: bench, models: [("base", baseModel), ("tuned", tuned)])
        print("\nfinished in \(Int(Date().timeIntervalSince(started))) s; report: \(path("report.html"))")
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
