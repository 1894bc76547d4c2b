import Foundation
import OPTModel
import Testing
@testable import OPTServe

/// The engine's memory budget: sequences join the batch only while their KV caches and the step's
/// work buffers fit, wait otherwise, and are refused only when one alone cannot fit.
@Suite(.serialized) struct ServeMemoryTests {
    typealias R = ServeRobustnessTests

    /// Six prompts of 20 to 25 tokens: close enough in length that no two fit where the longest alone just does.
    static let prompts: [[Int]] = (0..<6).map { i in [2] + (0..<(19 + i)).map { 10 + ($0 * 7 + i) % 40 } }

    /// Every prompt's greedy tokens from an engine with this budget, all queued before it starts
    /// (so that only the budget keeps them out of the first step), and the batch sizes it ran.
    static func run(memoryBudget: Int, maxBatchTokens: Int = Engine.defaultMaxBatchTokens) async throws
        -> (tokens: [[Int]], batchSizes: [Int: Int], peak: Int, peakPromptTokens: Int) {
        let engine = Engine(model: TestServer.generator.model, tokenizer: TestServer.generator.tokenizer, maxBatch: 8, maxQueue: 16,
                            memoryBudget: memoryBudget, maxBatchTokens: maxBatchTokens)
        let streams = try prompts.map { try engine.submit(R.request($0, 6)) }
        engine.start()
        var tokens: [[Int]] = []
        for stream in streams {
            let outcome = await R.outcome(stream)
            #expect(outcome.finished && outcome.failure == nil, "\(outcome)")
            tokens.append(outcome.tokens)
        }
        await engine.shutdown()
        return (tokens, engine.batchSizes, engine.peakStepMemory, engine.peakStepPromptTokens)
    }

    /// A budget that holds the largest sequence alone but never two: every step runs one sequence,
    /// the others wait their turn (none is refused), and each gets the tokens of an unbounded run.
    @Test func aTinyBudgetRunsOneSequenceAtATimeWithTheSameTokens() async throws {
        let engine = R.engine()
        let alone = Self.prompts.map { engine.memoryNeeded(running: [], joining: [R.request($0, 6)]) }
        let smallestPair = Self.prompts.indices.flatMap { i in Self.prompts.indices.filter { $0 != i }.map { j in
            engine.memoryNeeded(running: [], joining: [R.request(Self.prompts[i], 6), R.request(Self.prompts[j], 6)])
        } }.min()!
        let budget = alone.max()!
        try #require(budget < smallestPair, "no two sequences fit together")

        let unbounded = try await Self.run(memoryBudget: Engine.defaultMemoryBudget)
        #expect((unbounded.batchSizes.keys.max() ?? 0) > 1, "unbounded, sequences share steps: \(unbounded.batchSizes)")
        let tight = try await Self.run(memoryBudget: budget)
        #expect(tight.batchSizes.keys.sorted() == [1], "\(tight.batchSizes)")
        #expect(tight.tokens == unbounded.tokens)
    }

    /// A budget for three prompts at once: no step is planned beyond it (more sequences may share a
    /// step once the first ones decode, which needs far less than a prefill), some wait for room,
    /// and the tokens are those of an unbounded run.
    @Test func stepsStayWithinTheBudget() async throws {
        let engine = R.engine()
        let budget = engine.memoryNeeded(running: [], joining: Self.prompts.prefix(3).map { R.request($0, 6) })
        let unbounded = try await Self.run(memoryBudget: Engine.defaultMemoryBudget)
        #expect(unbounded.peak > budget)
        let run = try await Self.run(memoryBudget: budget)
        #expect(run.peak <= budget && (run.batchSizes.keys.max() ?? 0) < Self.prompts.count, "\(run.batchSizes)")
        #expect(run.tokens == unbounded.tokens)
    }

    /// With room for fewer prompt tokens than any prompt has, each step prefills one prompt while
    /// the sequences that joined before keep decoding in it; the tokens are those of a run that
    /// prefilled all six at once.
    @Test func maxBatchTokensPrefillsPromptsAFewAtATime() async throws {
        let longest = Self.prompts.map(\.count).max()!
        let together = try await Self.run(memoryBudget: Engine.defaultMemoryBudget)
        #expect(together.peakPromptTokens == Self.prompts.map(\.count).reduce(0, +))
        let oneByOne = try await Self.run(memoryBudget: Engine.defaultMemoryBudget, maxBatchTokens: 1)
        #expect(oneByOne.peakPromptTokens == longest)
        #expect((oneByOne.batchSizes.keys.max() ?? 0) > 1, "later prompts join the decoding ones: \(oneByOne.batchSizes)")
        #expect(oneByOne.tokens == together.tokens)
    }

    /// A sequence that alone needs more than the budget is refused at once: the engine throws, and
    /// the server answers 400 with an OpenAI error saying why (not 429: waiting would not help).
    @Test func aRequestLargerThanTheBudgetAloneGets400() async throws {
        let small = R.engine().memoryNeeded(running: [], joining: [R.request([2, 10, 11], 4)])
        let engine = Engine(model: TestServer.generator.model, tokenizer: TestServer.generator.tokenizer, memoryBudget: small)
        #expect(throws: EngineError.self) { try engine.submit(R.request(Array(repeating: 10, count: 60), 4)) }

        let server = try await TestServer(memoryBudget: small)
        defer { server.stop() }
        let (status, body) = try await server.post("v1/completions", ["prompt": Array(repeating: 10, count: 30), "max_tokens": 30])
        let error = body["error"] as? [String: Any]
        #expect(status == 400 && error?["type"] as? String == "invalid_request_error" && error?["code"] as? String == "context_length_exceeded", "\(body)")
        #expect((error?["message"] as? String)?.contains("memory budget") == true, "\(body)")
        // A request that fits is served as usual.
        let (fits, answer) = try await server.post("v1/completions", ["prompt": [2, 10, 11], "max_tokens": 4, "temperature": 0])
        #expect(fits == 200 && text(answer) != nil, "\(answer)")
    }

    /// With no work, the engine frees its work buffers.
    @Test func anIdleEngineHoldsNoWorkBuffers() async throws {
        let engine = R.engine()
        engine.start()
        _ = await R.outcome(try engine.submit(R.request(Array(repeating: 10, count: 50), 3)))
        try await eventually("the buffers are freed") { engine.workBufferBytes == 0 }
        await engine.shutdown()
    }
}
