import Foundation
import OPTModel
import Testing

/// The runtime against transformers on tiny random checkpoints in every storage layout.
@Suite("Parity with transformers")
struct ParityTests {
    static let models = Fixtures.modelNames

    @Test("batch logits match within 1e-4 (the left-padded rows' tokens, each sequence unpadded in one ragged pass)", arguments: models)
    func batchLogits(name: String) throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent(name))
        let expected = try Fixtures.expected(name)
        let reference = try Fixtures.logits(name)
        let ids = expected.batch_input_ids
        let real = expected.batch_attention_mask.map { $0.map { $0 == 1 } }
        // Our tokenizer must produce the same padded batch.
        let rows = zip(ids, real).map { row, mask in zip(row, mask).filter(\.1).map(\.0) }
        for (row, prompt) in expected.prompts.enumerated() {
            #expect(generator.tokenizer.encode(prompt) == rows[row])
        }
        let model = generator.model
        let steps = rows.map { OPTModel.SequenceStep(tokens: $0, cache: KVCache(config: model.config, capacity: $0.count), logits: .all) }
        let ours = try model.forward(sequences: steps, workspace: SequenceWorkspace()) { $0.flatMap { Array($0) } }
        #expect(ours.count == reference.count)
        let maxDifference = zip(ours, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDifference <= 1e-4, "max |Δlogit| = \(maxDifference)")
    }

    @Test("greedy generation is token-identical (single, batched, penalized, with EOS)", arguments: models)
    func greedy(name: String) throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent(name))
        let expected = try Fixtures.expected(name)
        let prompts = expected.prompts.map { generator.tokenizer.encode($0) }
        var plain = GenerationParameters()
        plain.maxNewTokens = 24
        plain.stopAtEOS = false
        for (row, ids) in prompts.enumerated() {
            #expect(try generator.generate(promptIDs: [ids], parameters: plain)[0].outputIDs == expected.greedy[row])
        }
        #expect(expected.greedy.allSatisfy { $0.count >= 20 })
        #expect(try generator.generate(promptIDs: prompts, parameters: plain).map(\.outputIDs) == expected.greedy_batched)

        var penalized = plain
        penalized.repetitionPenalty = 1.5
        penalized.noRepeatNgramSize = 2
        for (row, ids) in prompts.enumerated() {
            #expect(try generator.generate(promptIDs: [ids], parameters: penalized)[0].outputIDs == expected.greedy_penalized[row])
        }

        var withEOS = plain
        withEOS.stopAtEOS = true
        for (row, ids) in prompts.enumerated() {
            let result = try generator.generate(promptIDs: [ids], parameters: withEOS)[0]
            // transformers keeps the EOS token in its output; we report it as the finish reason instead.
            let reference = expected.greedy_with_eos[row]
            if let eos = reference.firstIndex(of: generator.model.config.eosTokenId) {
                #expect(result.outputIDs == Array(reference[..<eos]))
                #expect(result.finishReason == .eos)
            } else {
                #expect(result.outputIDs == reference)
                #expect(result.finishReason == .length)
            }
        }
    }

    @Test("continuation scores match within 1e-4", arguments: models)
    func scores(name: String) throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent(name))
        let expected = try Fixtures.expected(name)
        let ours = try generator.score(expected.scores.map { ($0.context, $0.continuation) })
        for (score, reference) in zip(ours, expected.scores) {
            #expect(score.contextIDs == reference.context_ids)
            #expect(score.continuationIDs == reference.continuation_ids)
            #expect(abs(score.logprob - reference.logprob) <= 1e-4, "\(reference.context)|\(reference.continuation)")
            for (a, b) in zip(score.tokenLogprobs, reference.token_logprobs) { #expect(abs(a - b) <= 1e-4) }
            #expect(score.isGreedy == reference.is_greedy)
        }
        // Continuations of one context scored over its shared KV cache give transformers' numbers too.
        for context in Set(expected.scores.map(\.context)) {
            let references = expected.scores.filter { $0.context == context }
            let shared = try generator.score(context: context, continuations: references.map(\.continuation))
            for (score, reference) in zip(shared, references) {
                #expect(score.continuationIDs == reference.continuation_ids)
                #expect(abs(score.logprob - reference.logprob) <= 1e-4, "shared prefix: \(reference.context)|\(reference.continuation)")
                for (a, b) in zip(score.tokenLogprobs, reference.token_logprobs) { #expect(abs(a - b) <= 1e-4) }
                #expect(score.isGreedy == reference.is_greedy)
            }
        }
        // All contexts in one batch, each with its continuations: the same numbers again.
        let contexts = Array(Set(expected.scores.map(\.context))).sorted()
        let grouped = try generator.score(contexts: contexts.map { context in
            (context, expected.scores.filter { $0.context == context }.map(\.continuation))
        })
        for (context, scores) in zip(contexts, grouped) {
            for (score, reference) in zip(scores, expected.scores.filter { $0.context == context }) {
                #expect(score.continuationIDs == reference.continuation_ids)
                #expect(abs(score.logprob - reference.logprob) <= 1e-4, "batched contexts: \(reference.context)|\(reference.continuation)")
                #expect(score.isGreedy == reference.is_greedy)
            }
        }
        // Scoring one pair alone gives what the batch gave.
        let single = try generator.score(context: expected.scores[0].context, continuation: expected.scores[0].continuation)
        #expect(abs(single.logprob - ours[0].logprob) <= 1e-4)
    }
}
