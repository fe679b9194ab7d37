from django.shortcuts import render

from echofu.api_table import API_TABLE


def home(request):
    return render(request, "home.html", {"api": API_TABLE})
