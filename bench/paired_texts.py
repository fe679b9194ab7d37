"""The three sentences per language the paired voice benchmarks speak (kept apart so a benchmark that needs
only the words does not import the scoring models)."""

TEXTS = {
    "en": "The weather will be dry and sunny for the rest of the week, with a light breeze in the afternoon. "
          "Please remember to water the plants and lock the back door before you leave. "
          "My brother bought a new bicycle, and he rides it to work every morning.",
    "zh": "今天的天气很好，我们一起去公园散步吧。明天可能会下雨，记得带伞。我们下午三点在图书馆门口见面，不要迟到。"
          "这家饭店的菜又便宜又好吃，周末总是有很多人。",
}
