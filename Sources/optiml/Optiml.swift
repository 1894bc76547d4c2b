import ArgumentParser
import OPTSupport

/// The `optiml` command: one subcommand per job.
@main
struct Optiml: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optiml",
        abstract: "OPT and OPT-IML in Swift: run Hugging Face checkpoints on CPU, build OPT-IML Bench.",
        subcommands: [Generate.self, Score.self, Tokenize.self, Inspect.self, InitRandom.self, Quantize.self, Speed.self, GemmSpeed.self, Accuracy.self, BenchCommand.self, EvalCommand.self, Demo.self, Nano.self, Synth.self, TrainTokenizer.self, Tune.self, TrainSpeed.self, Serve.self, ReportCommand.self]
    )

    /// ArgumentParser's entry point, with Foundation's file errors that a command did not wrap printed as
    /// "PATH: what the system said" rather than as an NSError's dump.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: FileProblem.describe(error) == nil ? error : CLIError(error))
        }
    }
}
