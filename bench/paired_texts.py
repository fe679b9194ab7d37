"""The three sentences per language the paired voice benchmarks speak (kept apart so a benchmark that needs
only the words does not import the scoring models), and a longer Chinese paragraph for error rates that
move by less than a character's worth (one character of TEXTS["zh"] is 0.015 of its CER, of the paragraph 0.006)."""

TEXTS = {
    "en": "The weather will be dry and sunny for the rest of the week, with a light breeze in the afternoon. "
          "Please remember to water the plants and lock the back door before you leave. "
          "My brother bought a new bicycle, and he rides it to work every morning.",
    "zh": "今天的天气很好，我们一起去公园散步吧。明天可能会下雨，记得带伞。我们下午三点在图书馆门口见面，不要迟到。"
          "这家饭店的菜又便宜又好吃，周末总是有很多人。",
}
CHINESE_PARAGRAPH = TEXTS["zh"] + ("我的妹妹在一家医院工作，每天早上七点就出门。这个周末我们打算去海边看日出，顺便吃一顿海鲜。"
                                   "请把桌子上的文件整理好，然后发给经理。老师说明天的考试会比上次难一些，大家要认真复习。"
                                   "冬天的晚上，一家人坐在一起喝热汤，聊聊最近发生的事情。")
