import ArgumentParser
import OPTModel

/// `optiml score`: the log-likelihood of a continuation given a context.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Score a continuation given a context (log-likelihood).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Text the continuation follows.") var context: String
    @Option(help: "Text to score.") var continuation: String
    @Flag(help: "Print one JSON object (logprob, token_logprobs, continuation_ids, is_greedy, …).") var json = false

    func run() throws {
        let generator = try modelOptions.loadGenerator()
        let score: ContinuationScore
        do { score = try generator.score(context: context, continuation: continuation) } catch { throw CLIError(error) }
        if json {
            try printJSON(ScoreOutput(
                logprob: score.logprob, token_logprobs: score.tokenLogprobs, context_ids: score.contextIDs,
                continuation_ids: score.continuationIDs, is_greedy: score.isGreedy, truncated_tokens: score.truncatedTokens))
        } else {
            print("logprob \(score.logprob)  tokens \(score.continuationIDs.count)  greedy \(score.isGreedy)")
        }
    }
}

private struct ScoreOutput: Encodable {
    let logprob: Double
    let token_logprobs: [Double]
    let context_ids: [Int]
    let continuation_ids: [Int]
    let is_greedy: Bool
    let truncated_tokens: Int
}
