import ArgumentParser

/// The `optiml` command: one subcommand per job.
@main
struct Optiml: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optiml",
        abstract: "OPT and OPT-IML in Swift: run Hugging Face checkpoints on CPU, build OPT-IML Bench.",
        subcommands: [Generate.self, Score.self, Tokenize.self, Inspect.self, InitRandom.self, Quantize.self, Speed.self, GemmSpeed.self, Accuracy.self, BenchCommand.self, EvalCommand.self, Demo.self, Nano.self, Synth.self, TrainTokenizer.self, Tune.self, TrainSpeed.self, Serve.self, ReportCommand.self]
    )
}
