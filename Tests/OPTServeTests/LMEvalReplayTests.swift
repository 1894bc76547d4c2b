import Foundation
import OPTSupport
import Testing
@testable import OPTServe

/// lm-evaluation-harness's `local-completions` against the server: the requests it sent (recorded
/// by tools/record_lmeval_requests.py) are replayed, and the answers parsed as lm-eval parses them.
@Suite(.serialized) struct LMEvalReplayTests {
    static let fixture = packageRoot.appendingPathComponent("Tests/Fixtures/serve/lmeval_requests.jsonl")

    /// lm-eval's `LocalCompletionsAPI.parse_logprobs` for one choice: the sum of
    /// `token_logprobs[ctxlen:-1]` (the last token is the one generated), greedy when each of those is
    /// the largest of its `top_logprobs`. Nil when the answer lacks what lm-eval reads.
    static func parseLogprobs(_ answer: [String: Any], ctxlen: Int) -> (logprob: Double, isGreedy: Bool)? {
        guard ctxlen > 0, let choices = answer["choices"] as? [[String: Any]],
              let choice = choices.min(by: { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }),
              let logprobs = choice["logprobs"] as? [String: Any],
              let values = logprobs["token_logprobs"] as? [Any], let tops = logprobs["top_logprobs"] as? [Any], tops.count == values.count
        else { return nil }
        // Python's [ctxlen:-1]: empty when ctxlen reaches the end.
        let end = max(values.count - 1, 0), start = min(ctxlen, end)
        var total = 0.0, greedy = true
        for (value, top) in zip(values[start..<end], tops[start..<end]) {
            guard let value = value as? Double, let top = top as? [String: Double] else { return nil }
            total += value
            if value != top.values.max() { greedy = false }
        }
        return (total, greedy)
    }

    /// lm-eval's `parse_generations` for one choice: its text.
    static func parseGeneration(_ answer: [String: Any]) -> String? {
        ((answer["choices"] as? [[String: Any]])?.first { ($0["index"] as? Int) == 0 })?["text"] as? String
    }

    /// Every setting gets what lm-eval gets from vLLM (tokenization, the echoed BOS, the slice), and
    /// the README's settings (`tokenized_requests=True,add_bos_token=True`) give the numbers of
    /// lm-eval's `hf` backend. The payloads name the model by its folder, as lm-eval's `model=` does.
    @Test func lmEvalGetsTheNumbersItGetsFromVLLM() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let reader = try JSONLinesReader(url: Self.fixture)
        var lines: [[String: Any]] = []
        while let line = try reader.next() {
            guard !line.bytes.isEmpty else { continue }
            lines.append(try #require(try JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any]))
        }
        #expect(Set(lines.compactMap { $0["setting"] as? String }) == ["text", "ids", "ids+bos"])
        for line in lines {
            let setting = try #require(line["setting"] as? String), request = try #require(line["request"] as? String)
            var payload = try #require(line["payload"] as? [String: Any])
            let expected = try #require(line["expected"] as? [String: Any]), hf = try #require(line["hf"] as? [String: Any])
            // lm-eval ran in the repository root with a relative model= path; the tests may run elsewhere.
            let model = try #require(payload["model"] as? String)
            payload["model"] = packageRoot.appendingPathComponent(model).path
            let (status, answer) = try await server.post("v1/completions", payload)
            #expect(status == 200, "\(setting) \(line["arguments"] ?? ""): \(answer)")
            if request == "loglikelihood" {
                let ctxlen = try #require(line["ctxlen"] as? Int)
                let parsed = try #require(Self.parseLogprobs(answer, ctxlen: ctxlen), "\(answer)")
                let want = try #require(expected["logprob"] as? Double)
                #expect(abs(parsed.logprob - want) < 1e-4, "\(setting) \(line["arguments"] ?? ""): \(parsed.logprob) vs \(want)")
                #expect(parsed.isGreedy == expected["is_greedy"] as? Bool)
                if setting == "ids+bos", let reference = hf["logprob"] as? Double {
                    #expect(abs(parsed.logprob - reference) < 1e-4, "hf backend: \(parsed.logprob) vs \(reference)")
                }
            } else {
                let text = Self.parseGeneration(answer)
                #expect(text == expected["text"] as? String, "\(setting) \(line["arguments"] ?? "")")
                if setting == "ids+bos" { #expect(text == hf["text"] as? String) }
            }
        }
    }
}
