import Foundation
import OPTMetrics
import Testing
@testable import OPTEval

/// Parity with the Python references on every pair of Tests/Fixtures/eval/metric_pairs.jsonl.
@Suite("Metric parity with the Python references")
struct MetricParityTests {
    let pairs: [MetricPair]

    init() throws {
        pairs = try Fixtures.jsonLines("metric_pairs.jsonl", as: MetricPair.self)
    }

    @Test func fixtureIsLargeEnough() {
        #expect(pairs.count >= 500)
        #expect(pairs.contains { $0.references.count > 1 })
        #expect(pairs.contains { $0.prediction.isEmpty })
        #expect(pairs.contains { $0.prediction.unicodeScalars.count > 2000 })
    }

    @Test func exactMatchIsExact() {
        for pair in pairs {
            let score = ExactMatch.score(prediction: pair.prediction, references: pair.references)
            #expect(score == Double(pair.exact_match), "\(pair.source): \(show(pair.prediction)) vs \(pair.references.map(show))")
        }
    }

    @Test func rougeLMatchesRougeScore() {
        let rouge = RougeL(useStemmer: true)
        for pair in pairs {
            let score = rouge.fmeasure(prediction: pair.prediction, references: pair.references)
            #expect(abs(score - pair.rougeL) <= 1e-6, "\(pair.source): \(score) vs \(pair.rougeL) for \(show(pair.prediction)) vs \(pair.references.map(show))")
        }
    }

    @Test func tokenF1MatchesSQuAD() {
        for pair in pairs {
            guard let expected = pair.token_f1 else { continue }
            let score = TokenF1.score(prediction: pair.prediction, references: pair.references)
            #expect(abs(score - expected) <= 1e-6, "\(pair.source): \(score) vs \(expected) for \(show(pair.prediction)) vs \(pair.references.map(show))")
        }
    }

    @Test func singleReferenceHelpersAgreeWithTheMaximum() {
        let rouge = RougeL()
        for pair in pairs.prefix(100) {
            let best = pair.references.map { rouge.score(prediction: pair.prediction, target: $0).fmeasure }.max() ?? 0
            #expect(best == rouge.fmeasure(prediction: pair.prediction, references: pair.references))
            let anyMatch = pair.references.contains { ExactMatch.matches(prediction: pair.prediction, reference: $0) }
            #expect(anyMatch == (pair.exact_match == 1))
        }
    }
}

@Suite("Cross-lingual ROUGE-L parity", .enabled(if: Paths.hasGPT2, "../shared/data/gpt2-tokenizer is absent: skipping the cross-lingual ROUGE-L parity tests"))
struct CrossLingualParityTests {
    @Test func xlingualPairsMatchRougeScoreWithGPT2Tokens() throws {
        let pairs = try Fixtures.jsonLines("xlingual_pairs.jsonl", as: MetricPair.self)
        #expect(pairs.count >= 200)
        let rouge = try RougeL.crossLingual(tokenizerDirectory: Paths.gpt2)
        for pair in pairs {
            let score = rouge.fmeasure(prediction: pair.prediction, references: pair.references)
            #expect(abs(score - pair.rougeL) <= 1e-6, "\(pair.source): \(score) vs \(pair.rougeL) for \(show(pair.prediction)) vs \(pair.references.map(show))")
            #expect(ExactMatch.score(prediction: pair.prediction, references: pair.references) == Double(pair.exact_match), "\(pair.source)")
        }
    }

    @Test func gpt2TokensLoseTheirSpaceMarker() throws {
        let rouge = try RougeL.crossLingual(tokenizerDirectory: Paths.gpt2)
        #expect(rouge.tokenize("Hello  world") == ["Hello", "", "world"])
        #expect(rouge.tokenize("a <|endoftext|> b") == ["a", "", "<|endoftext|>", "b"])
        #expect(rouge.tokenize("") == [])
        // Identical texts score 1, and case matters (no lowercasing on this track).
        #expect(rouge.score(prediction: "Gracias, señor.", target: "Gracias, señor.").fmeasure == 1)
        #expect(rouge.score(prediction: "Hola", target: "hola").fmeasure == 0)  // [H, ola] vs [hol, a]
    }
}
