import Foundation
import OPTModel
import Testing

/// Sampling, streaming and stop strings (behaviour transformers has no token-level reference for).
@Suite("Generation")
struct GenerationTests {
    static let directory = Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded")

    func sampling(seed: UInt64, topK: Int = 0, topP: Float = 1) -> GenerationParameters {
        var p = GenerationParameters()
        p.maxNewTokens = 20
        p.temperature = 1.0
        p.topK = topK
        p.topP = topP
        p.seed = seed
        p.stopAtEOS = false
        return p
    }

    @Test func samplingIsReproducibleForASeed() throws {
        let generator = try Generator(directory: Self.directory)
        let a = try generator.generate(prompt: "The capital of France is", parameters: sampling(seed: 42))
        let b = try generator.generate(prompt: "The capital of France is", parameters: sampling(seed: 42))
        let c = try generator.generate(prompt: "The capital of France is", parameters: sampling(seed: 43))
        #expect(a.outputIDs == b.outputIDs)
        #expect(a.outputIDs != c.outputIDs)
    }

    @Test func topKOfOneIsGreedy() throws {
        let generator = try Generator(directory: Self.directory)
        var greedy = sampling(seed: 0)
        greedy.temperature = 0
        let expected = try generator.generate(prompt: "Q: What is 12 plus 7?\nA:", parameters: greedy)
        for seed in 0..<3 as Range<UInt64> {
            let sampled = try generator.generate(prompt: "Q: What is 12 plus 7?\nA:", parameters: sampling(seed: seed, topK: 1))
            #expect(sampled.outputIDs == expected.outputIDs)
        }
    }

    @Test func tinyTopPIsGreedy() throws {
        let generator = try Generator(directory: Self.directory)
        var greedy = sampling(seed: 0)
        greedy.temperature = 0
        let expected = try generator.generate(prompt: "Hello", parameters: greedy)
        let sampled = try generator.generate(prompt: "Hello", parameters: sampling(seed: 9, topP: 1e-6))
        #expect(sampled.outputIDs == expected.outputIDs)
    }

    /// A temperature near 0 is greedy decoding in the limit, and is so here however small (in f32 the logits over
    /// it overflowed, and the NaN softmax drew the last token in order). A repetition penalty near 0 raises every
    /// token seen so far above all others: each draw is one of them.
    @Test func temperaturesAndPenaltiesNearZeroStayDefined() throws {
        let generator = try Generator(directory: Self.directory)
        var greedy = sampling(seed: 0)
        greedy.temperature = 0
        let expected = try generator.generate(prompt: "Q: What is 12 plus 7?\nA:", parameters: greedy)
        for temperature: Float in [1e-30, 1e-38, 1e-40, .leastNonzeroMagnitude] {
            var cold = sampling(seed: 3)
            cold.temperature = temperature
            #expect(try generator.generate(prompt: "Q: What is 12 plus 7?\nA:", parameters: cold).outputIDs == expected.outputIDs,
                    "temperature \(temperature)")
        }
        var penalized = sampling(seed: 4)
        penalized.repetitionPenalty = 1e-40
        let result = try generator.generate(prompt: "Q: What is 12 plus 7?\nA:", parameters: penalized)
        var seen = Set(result.promptIDs)
        for id in result.outputIDs {
            #expect(seen.contains(id), "token \(id) was not in the sequence")
            seen.insert(id)
        }
    }

    @Test func streamedTextEqualsFinalText() throws {
        let generator = try Generator(directory: Self.directory)
        var streamed = ""
        let result = try generator.generate(prompt: "Héllo wörld — 東京 🙂", parameters: sampling(seed: 5)) { streamed += $0 }
        #expect(streamed == result.text)
        #expect(result.text == generator.tokenizer.decode(result.outputIDs, skipSpecialTokens: true))
    }

    @Test func stopStringEndsGenerationAndIsNotReturned() throws {
        let generator = try Generator(directory: Self.directory)
        var p = sampling(seed: 0)
        p.temperature = 0
        let full = try generator.generate(prompt: "The capital of France is", parameters: p)
        // Stop at a piece of the greedy text: the result is everything before it.
        let characters = Array(full.text)
        guard characters.count >= 6 else { Issue.record("greedy text too short: \(full.text)"); return }
        let stop = String(characters[3..<6])
        p.stop = [stop]
        var streamed = ""
        let stopped = try generator.generate(prompt: "The capital of France is", parameters: p) { streamed += $0 }
        let cut = full.text.range(of: stop).map { String(full.text[..<$0.lowerBound]) }
        #expect(stopped.text == cut)
        #expect(streamed == stopped.text)
        #expect(stopped.finishReason == .stop)
    }
}
