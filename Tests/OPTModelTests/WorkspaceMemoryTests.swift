import Foundation
import Testing
@testable import OPTModel

/// Work buffers are sized by what a forward pass computes, and freed on request.
@Suite struct WorkspaceMemoryTests {
    /// A prompt's prefill that wants only its last position's logits holds logits for that one row
    /// per sequence, not for every prompt row (rows × vocabulary floats, zero-filled, was 6 GB for
    /// 16 prompts of 1,900 tokens on OPT's vocabulary).
    @Test func prefillLogitsAreSizedByTheRowsComputed() throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded"))
        let model = generator.model, vocab = model.config.vocabSize
        let prompts = [Array(repeating: 10, count: 40), Array(repeating: 11, count: 25), [2, 12, 13]]
        let workspace = SequenceWorkspace()
        let steps = prompts.map { OPTModel.SequenceStep(tokens: $0, cache: KVCache(config: model.config, capacity: $0.count + 4), logits: .last) }
        let counts = try model.forward(sequences: steps, workspace: workspace) { $0.map(\.count) }
        #expect(counts == prompts.map { _ in vocab })
        #expect(workspace.workspace.logits.count == prompts.count * vocab)
        // Every position is computed only where asked for: one sequence's 25 rows plus the others' last.
        let mixed = [OPTModel.SequenceStep(tokens: prompts[0], cache: KVCache(config: model.config, capacity: 44), logits: .last),
                     OPTModel.SequenceStep(tokens: prompts[1], cache: KVCache(config: model.config, capacity: 29), logits: .all)]
        let fresh = SequenceWorkspace()
        try model.forward(sequences: mixed, workspace: fresh) { _ in }
        #expect(fresh.workspace.logits.count == (1 + 25) * vocab)
        // The estimate a server budgets with is what the buffers hold after the pass.
        #expect(model.workspaceBytes(mixed.map { ($0.tokens.count, $0.cache.capacity, $0.logits) }) == fresh.bytes)
        // Two long prompts that want their last position each hold two rows of logits.
        let twice = SequenceWorkspace()
        try model.forward(sequences: [prompts[0], prompts[0]].map { .init(tokens: $0, cache: KVCache(config: model.config, capacity: 40), logits: .last) },
                          workspace: twice) { _ in }
        #expect(twice.workspace.logits.count == 2 * vocab)
    }

    @Test func releaseFreesEveryBufferAndTheNextPassSizesThemAgain() throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded"))
        let model = generator.model, ids = generator.tokenizer.encode("The capital of France is")
        func greedy(_ workspace: SequenceWorkspace) throws -> Int {
            try model.forward(sequences: [.init(tokens: ids, cache: KVCache(config: model.config, capacity: ids.count), logits: .last)],
                              workspace: workspace) { logits in logits[0].indices.max { logits[0][$0] < logits[0][$1] }! }
        }
        let workspace = SequenceWorkspace()
        let before = try greedy(workspace)
        #expect(workspace.bytes > 0)
        workspace.release()
        #expect(workspace.bytes == 0)
        #expect(try greedy(workspace) == before)
    }

    /// A generator's calls, one after another, run on the same kept workspace; callers at the same time each get one.
    @Test func workspacesAreKeptBetweenCallsAndNeverShared() throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded"))
        let first = try generator.score(context: "The capital of France is", continuation: " Paris")
        let kept = generator.workspaces.with { ObjectIdentifier($0) }
        #expect(try generator.score(context: "The capital of France is", continuation: " Paris") == first)
        #expect(generator.workspaces.with { ObjectIdentifier($0) } == kept)
        let (outer, inner) = generator.workspaces.with { outer in (ObjectIdentifier(outer), generator.workspaces.with { ObjectIdentifier($0) }) }
        #expect(outer != inner)
        generator.workspaces.release()
        #expect(generator.workspaces.with { $0.bytes } == 0)
    }

    /// A freed cache's buffers serve the next cache that fits in them, and scores over recycled (unclear)
    /// buffers are the scores over fresh ones.
    @Test func freedCachesLendTheirBuffersToTheNext() throws {
        let generator = try Generator(directory: Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded"))
        let pool = generator.workspaces, config = generator.model.config
        let layerBytes = 16 * config.hiddenSize * MemoryLayout<Float>.stride, buffers = 2 * config.numHiddenLayers
        var first: KVCache? = pool.cache(config: config, capacity: 16)
        let pointers = Set(first!.keys.map(\.pointer) + first!.values.map(\.pointer))
        #expect(pool.keptCacheBytes == 0)
        first = nil
        #expect(pool.keptCacheBytes == buffers * layerBytes)
        // A shorter cache takes the kept buffers (the smallest that fit); a copy too.
        let shorter = pool.cache(config: config, capacity: 10)
        #expect(Set(shorter.keys.map(\.pointer) + shorter.values.map(\.pointer)) == pointers)
        #expect(shorter.capacity == 10 && pool.keptCacheBytes == 0)
        // A request larger than every kept buffer frees them all before mapping its own.
        _ = pool.cache(config: config, capacity: 4)
        #expect(pool.keptCacheBytes == buffers * 4 * config.hiddenSize * MemoryLayout<Float>.stride)
        let larger = pool.cache(config: config, capacity: 32)
        #expect(pool.keptCacheBytes == 0 && larger.keys.allSatisfy { $0.count == 32 * config.hiddenSize })

        let pairs = [("The capital of France is", " Paris"), ("Two plus two is", " four, not five")]
        let fresh = try Generator(directory: Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded"))
        let expected = try fresh.score(pairs.map { (context: $0.0, continuation: $0.1) })
        for _ in 0..<3 {
            #expect(try generator.score(pairs.map { (context: $0.0, continuation: $0.1) }) == expected)
        }
        #expect(pool.keptCacheBytes > 0)
        pool.release()
        #expect(pool.keptCacheBytes == 0)
    }

    /// Large buffers are mapped, and still read as zeros; small ones come from the allocator.
    @Test func largeAndSmallBuffersAreZeroFilled() {
        for count in [0, 3, FloatBuffer.mappingThreshold / 4 - 1, FloatBuffer.mappingThreshold / 4, 1 << 20] {
            let buffer = FloatBuffer(count: count)
            #expect(buffer.count == count && buffer.array.allSatisfy { $0 == 0 })
            if count > 0 { buffer.pointer[count - 1] = 1 }
        }
    }
}
